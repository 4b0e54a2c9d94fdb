"""The session cookie: a cookie verified once is only checked for its age when it comes again."""

from __future__ import annotations

import pytest
from flask import Flask

from fedipanel.web import session_cookie
from tests.helpers import Auth, Factory


@pytest.fixture
def cookie(app: Flask, factory: Factory) -> str:
    """A logged-in operator's session cookie, seen once by the app."""
    factory.operator("op@acme.example", slug="acme")
    client = app.test_client()
    assert Auth(client).login("op@acme.example").status_code == 302
    value = client.get_cookie("session")
    assert value is not None
    assert client.get("/dashboard").status_code == 200
    return value.value


def visit(app: Flask, cookie: str) -> int:
    client = app.test_client()
    client.set_cookie("session", cookie)
    return int(client.get("/dashboard").status_code)


def test_the_same_cookie_opens_the_session_again(app: Flask, cookie: str) -> None:
    assert visit(app, cookie) == 200
    assert visit(app, cookie) == 200


def test_a_changed_cookie_is_refused_after_the_real_one_was_seen(app: Flask, cookie: str) -> None:
    assert visit(app, cookie) == 200
    payload, _, signature = cookie.rpartition(".")
    forged = f"{payload}.{signature[:-2]}{'AA' if signature[-2:] != 'AA' else 'BB'}"

    assert visit(app, forged) == 302  # to the login page


def test_an_expired_cookie_is_refused_though_it_was_seen(
    app: Flask, cookie: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert visit(app, cookie) == 200
    later = session_cookie.time.time() + app.permanent_session_lifetime.total_seconds() + 5
    monkeypatch.setattr(session_cookie.time, "time", lambda: later)

    assert visit(app, cookie) == 302


def test_a_new_secret_key_ends_the_sessions_signed_with_the_old_one(
    app: Flask, cookie: str
) -> None:
    assert visit(app, cookie) == 200
    app.secret_key = "another-secret-key"

    assert visit(app, cookie) == 302
