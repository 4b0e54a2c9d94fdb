"""What protects the panel beyond its pages: HSTS, private files, secrets never cached."""

from __future__ import annotations

import stat
from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient

from fedipanel import create_app
from fedipanel.db import db
from tests.helpers import Auth, Factory, app_config


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_browsers_are_told_to_keep_to_https_when_the_panel_is_served_over_it(
    tmp_path: Path,
) -> None:
    over_https = create_app(app_config(tmp_path / "https", HTTPS="1"))
    plain = create_app(app_config(tmp_path / "plain"))
    hsts = over_https.test_client().get("/healthz").headers["Strict-Transport-Security"]
    assert hsts == "max-age=31536000; includeSubDomains"
    assert "Strict-Transport-Security" not in plain.test_client().get("/healthz").headers


def test_the_instance_folder_and_the_sqlite_file_are_the_owners_alone(tmp_path: Path) -> None:
    config = app_config(tmp_path, DATABASE_URL=None)
    app = create_app(config)
    instance = Path(app.instance_path)
    database = instance / "fedipanel.sqlite3"
    with app.app_context():
        db.create_all()
    assert _mode(instance) == 0o700
    assert _mode(database) == 0o600


def test_an_existing_world_readable_sqlite_file_is_made_private_at_start(tmp_path: Path) -> None:
    database = tmp_path / "panel.sqlite3"
    database.touch(mode=0o644)
    database.chmod(0o644)
    create_app(app_config(tmp_path, DATABASE_URL=f"sqlite:///{database}"))
    assert _mode(database) == 0o600


def test_the_page_showing_a_new_api_token_is_never_cached(
    app: Flask, client: FlaskClient, auth: Auth, factory: Factory
) -> None:
    factory.operator("op@acme.example")
    auth.login("op@acme.example")
    created = client.post("/account/tokens", data={"name": "ci"})
    assert created.status_code == 200
    assert "fp_" in created.get_data(as_text=True)
    assert created.headers["Cache-Control"] == "no-store"
