"""Settings: defaults, then `instance/config.py`, then `FEDIPANEL_*` environment variables."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask

from fedipanel.instance_files import read_or_create

DEFAULTS: dict[str, Any] = {
    "REDIS_URL": None,
    "NIXOPS4": None,
    "FLAKE_DIR": None,
    "SIMULATE": True,
    "NIXOPS4_TIMEOUT": 3600,
    "JOB_TIMEOUT": 7200,
    "HEARTBEAT_INTERVAL": 5.0,
    "STALE_AFTER": 30.0,
    "REAP_INTERVAL": 5.0,
    "SIMULATOR_STEP_DELAY": 0.4,
    "ACME_EMAIL": None,
    "STATE_VERSION": "25.05",
    "DNS_TTL": 300,
    "LOGIN_MAX_FAILURES": 5,
    "LOGIN_WINDOW": 300,
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "WTF_CSRF_TIME_LIMIT": None,
    "MAX_CONTENT_LENGTH": 1024 * 1024,
}


def load(app: Flask, test_config: Mapping[str, Any] | None) -> None:
    """Fill `app.config` from defaults, the instance file, the environment and a test mapping."""
    app.config.from_mapping(DEFAULTS)
    app.config.from_pyfile("config.py", silent=True)
    app.config.from_prefixed_env("FEDIPANEL")
    if test_config is not None:
        app.config.from_mapping(test_config)

    instance = Path(app.instance_path)
    instance.mkdir(parents=True, exist_ok=True)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = read_or_create(
            instance / "secret_key", lambda: secrets.token_urlsafe(48)
        )
    app.config.setdefault("DATABASE_URL", f"sqlite:///{instance / 'fedipanel.sqlite3'}")
    app.config["SQLALCHEMY_DATABASE_URI"] = app.config["DATABASE_URL"]
    if not app.config.get("FLAKE_DIR"):
        app.config["FLAKE_DIR"] = str(Path(app.root_path).parent / "nix")
    app.config["SIMULATE"] = _flag(app.config["SIMULATE"])
    # Served over HTTPS (behind a TLS-terminating proxy): cookies only travel encrypted.
    if _flag(app.config.get("HTTPS", False)):
        app.config["SESSION_COOKIE_SECURE"] = True
        app.config["REMEMBER_COOKIE_SECURE"] = True
        app.config["PREFERRED_URL_SCHEME"] = "https"


def _flag(value: object) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in {"1", "true", "yes", "on"}
    return bool(value)
