"""Fill Flask's config when the app is created, remembering where each setting came from."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Config, Flask

from fedipanel.instance_files import private_folder, read_or_create
from fedipanel.settings.defaults import RUNTIME
from fedipanel.settings.sources import ORIGINS, Source


def load_into(app: Flask, test_config: Mapping[str, Any] | None) -> None:
    """Load the defaults, `instance/config.py`, `FEDIPANEL_*` and a test mapping, in that order."""
    from_file = Config(app.instance_path)
    from_file.from_pyfile("config.py", silent=True)
    from_env = Config(app.instance_path)
    from_env.from_prefixed_env("FEDIPANEL")
    layers = ((Source.INSTANCE_FILE, from_file), (Source.ENVIRONMENT, from_env))
    app.config.from_mapping(RUNTIME)
    origins: dict[str, Source] = {}
    for source, values in (*layers, (Source.ENVIRONMENT, test_config or {})):
        app.config.from_mapping(values)
        origins.update(dict.fromkeys(values, source))
    app.extensions[ORIGINS] = origins

    instance = Path(app.instance_path)
    private_folder(instance)  # it holds the session key, the set-up code, the SQLite file
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = read_or_create(
            instance / "secret_key", lambda: secrets.token_urlsafe(48)
        )
    if not app.config.get("DATABASE_URL"):
        app.config["DATABASE_URL"] = f"sqlite:///{instance / 'fedipanel.sqlite3'}"
    app.config["SQLALCHEMY_DATABASE_URI"] = app.config["DATABASE_URL"]
    if not app.config.get("FLAKE_DIR"):
        app.config["FLAKE_DIR"] = str(Path(app.root_path).parent / "nix")
    app.config["SIMULATE"] = flag(app.config["SIMULATE"])
    app.config["PARALLEL_MACHINES"] = parallel_machines(app.config["PARALLEL_MACHINES"])
    # Served over HTTPS (behind a TLS-terminating proxy): cookies only travel encrypted.
    if flag(app.config["HTTPS"]):
        app.config["SESSION_COOKIE_SECURE"] = True
        app.config["REMEMBER_COOKIE_SECURE"] = True
        app.config["PREFERRED_URL_SCHEME"] = "https"


MAX_PARALLEL_MACHINES = 64


def parallel_machines(value: object) -> int:
    """Read FEDIPANEL_PARALLEL_MACHINES: a whole number from 1 to 64."""
    text = str(value).strip()
    if isinstance(value, bool) or not text.isdigit() or not 1 <= int(text) <= MAX_PARALLEL_MACHINES:
        raise ValueError(
            f"FEDIPANEL_PARALLEL_MACHINES must be a whole number from 1 to "
            f"{MAX_PARALLEL_MACHINES} (how many machines are worked on at once), not {text!r}"
        )
    return int(text)


def flag(value: object) -> bool:
    """Read a yes/no setting: `1`, `true`, `yes` and `on` are yes."""
    if isinstance(value, str):
        return value.strip().lower() in {"1", "true", "yes", "on"}
    return bool(value)
