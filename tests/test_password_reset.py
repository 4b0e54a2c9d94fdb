"""The provider resets an operator's password with a one-time link; the operator sets a new one."""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update

from fedipanel.accounts.models import PasswordReset
from fedipanel.audit import log
from fedipanel.db import db
from fedipanel.timeutil import utcnow
from tests.helpers import PASSWORD, Auth, Factory

NEW_PASSWORD = "a much longer new passphrase"


@pytest.fixture
def operator_id(factory: Factory) -> int:
    return factory.operator("op@acme.example", slug="acme")


@pytest.fixture
def provider(app: Flask, factory: Factory) -> FlaskClient:
    client = app.test_client()
    factory.provider()
    Auth(client).login("admin@provider.example")
    return client


def _reset(provider: FlaskClient, operator_id: int) -> tuple[str, str]:
    """Press Reset password; return the page and the link it shows."""
    response = provider.post(f"/provider/operators/{operator_id}/reset-password")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    page = response.get_data(as_text=True)
    match = re.search(r'id="reset-link">(http://localhost(/reset-password/[^<]+))<', page)
    assert match, "the link is shown"
    return page, match.group(2)


def _set(client: FlaskClient, path: str, password: str, repeat: str | None = None) -> Any:
    return client.post(path, data={"password": password, "repeat": repeat or password})


def test_operator_sets_a_new_password_with_the_link_and_their_other_sessions_end(
    app: Flask, provider: FlaskClient, operator_id: int
) -> None:
    elsewhere = app.test_client()
    Auth(elsewhere).login("op@acme.example")
    _page, path = _reset(provider, operator_id)

    holder = app.test_client()
    form = holder.get(path)
    assert form.status_code == 200
    assert 'name="repeat"' in form.get_data(as_text=True)
    done = _set(holder, path, NEW_PASSWORD)
    assert done.status_code == 302
    assert done.headers["Location"] == "/login"

    assert elsewhere.get("/dashboard").status_code == 302  # the open session ended
    assert Auth(app.test_client()).login("op@acme.example", PASSWORD).status_code == 401
    assert Auth(holder).login("op@acme.example", NEW_PASSWORD).status_code == 302
    assert holder.get("/dashboard").status_code == 200


def test_the_link_is_shown_once_and_only_its_hash_is_stored(
    app: Flask, provider: FlaskClient, operator_id: int
) -> None:
    _page, path = _reset(provider, operator_id)
    token = path.rsplit("/", 1)[1]
    again = provider.get(f"/provider/operators/{operator_id}").get_data(as_text=True)
    assert token not in again
    assert 'id="open-reset"' in again  # the provider sees that a link is open, not the link
    with app.app_context():
        stored = db.session.scalars(select(PasswordReset.token_hash)).all()
        recorded = str([(e.details, e.actor_email) for e in log.entries()])
    assert stored == [hashlib.sha256(token.encode()).hexdigest()]
    assert token not in recorded


def test_the_link_works_once(app: Flask, provider: FlaskClient, operator_id: int) -> None:
    _page, path = _reset(provider, operator_id)
    client = app.test_client()
    _set(client, path, NEW_PASSWORD)
    used = client.get(path)
    assert used.status_code == 404
    assert "not valid" in used.get_data(as_text=True)
    assert _set(client, path, "yet another new passphrase").status_code == 404
    assert Auth(client).login("op@acme.example", NEW_PASSWORD).status_code == 302


def test_the_link_expires_after_an_hour(
    app: Flask, provider: FlaskClient, operator_id: int
) -> None:
    _page, path = _reset(provider, operator_id)
    with app.app_context():
        row = db.session.scalars(select(PasswordReset)).one()
        assert timedelta(minutes=59) < row.expires_at - row.created_at <= timedelta(hours=1)
        db.session.execute(update(PasswordReset).values(expires_at=utcnow() - timedelta(seconds=1)))
        db.session.commit()
    expired = app.test_client().get(path)
    assert expired.status_code == 404
    assert "expired" in expired.get_data(as_text=True)


def test_a_new_link_replaces_the_earlier_one(
    app: Flask, provider: FlaskClient, operator_id: int
) -> None:
    _page, first = _reset(provider, operator_id)
    _page, second = _reset(provider, operator_id)
    client = app.test_client()
    assert client.get(first).status_code == 404
    assert client.get(second).status_code == 200


@pytest.mark.parametrize(
    ("password", "repeat", "message"),
    [
        ("too short", "too short", "at least 12 characters"),
        (NEW_PASSWORD, "different one!!", "differ"),
    ],
)
def test_a_bad_new_password_is_refused_at_its_field_and_the_link_still_works(
    app: Flask, provider: FlaskClient, operator_id: int, password: str, repeat: str, message: str
) -> None:
    _page, path = _reset(provider, operator_id)
    client = app.test_client()
    refused = _set(client, path, password, repeat)
    assert refused.status_code == 422
    assert re.search(
        rf'class="field-error" id="error-\w+">[^<]*{message}', refused.get_data(as_text=True)
    )
    assert Auth(client).login("op@acme.example", PASSWORD).status_code == 302  # unchanged
    assert _set(app.test_client(), path, NEW_PASSWORD).status_code == 302


def test_reset_and_new_password_are_recorded_without_the_link(
    app: Flask, provider: FlaskClient, operator_id: int
) -> None:
    _page, path = _reset(provider, operator_id)
    _set(app.test_client(), path, NEW_PASSWORD)
    with app.app_context():
        entries = log.entries(operator_id=operator_id)
        reset = next(e for e in entries if e.action == "password.reset")
        changed = next(e for e in entries if e.action == "password.changed")
        assert reset.actor_email == "admin@provider.example"
        assert set(reset.details) == {"expires"}
        assert changed.actor_id == operator_id
        assert changed.details == {"via": "reset link"}
