"""Users change their own password on their Account page."""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from fedipanel.audit import log
from fedipanel.audit.log import Action
from tests.helpers import PASSWORD, Auth, Factory

NEW_PASSWORD = "a much longer new passphrase"


def _change(client: FlaskClient, current: str, new: str, repeat: str | None = None) -> Any:
    form = {"current": current, "new": new, "repeat": new if repeat is None else repeat}
    return client.post("/account/password", data=form)


def test_operator_changes_their_password_and_their_other_sessions_end(
    app: Flask, client: FlaskClient, auth: Auth, factory: Factory
) -> None:
    operator_id = factory.operator("op@acme.example")
    elsewhere = app.test_client()
    Auth(elsewhere).login("op@acme.example")
    auth.login("op@acme.example")
    assert 'id="change-password"' in client.get("/account").get_data(as_text=True)

    done = _change(client, PASSWORD, NEW_PASSWORD)
    assert done.status_code == 302
    assert client.get("/dashboard").status_code == 200  # this browser stays in
    assert elsewhere.get("/dashboard").status_code == 302  # the other session ended
    assert Auth(app.test_client()).login("op@acme.example", PASSWORD).status_code == 401
    assert Auth(app.test_client()).login("op@acme.example", NEW_PASSWORD).status_code == 302
    with app.app_context():
        changed = log.entries(action=Action.PASSWORD_CHANGED)
    assert [(e.actor_id, e.operator_id, e.details) for e in changed] == [
        (operator_id, operator_id, {"via": "account page"})
    ]


def test_a_password_change_shows_every_problem_at_once_and_changes_nothing(
    app: Flask, client: FlaskClient, auth: Auth, factory: Factory
) -> None:
    factory.operator("op@acme.example")
    auth.login("op@acme.example")
    refused = _change(client, "not my password", "short", "different")
    assert refused.status_code == 422
    page = refused.get_data(as_text=True)
    assert "This is not your password." in page
    assert "at least 12 characters" in page
    assert "The two passwords differ." in page
    assert client.get("/dashboard").status_code == 200
    assert Auth(app.test_client()).login("op@acme.example", PASSWORD).status_code == 302


def test_the_provider_changes_their_password_on_the_account_page_too(
    app: Flask, client: FlaskClient, auth: Auth, factory: Factory
) -> None:
    factory.provider()
    auth.login("admin@provider.example")
    page = client.get("/account").get_data(as_text=True)
    assert 'id="change-password"' in page
    assert 'id="delete-account"' not in page  # deleting an account is for operators
    assert _change(client, PASSWORD, NEW_PASSWORD).status_code == 302
    assert Auth(app.test_client()).login("admin@provider.example", NEW_PASSWORD).status_code == 302
