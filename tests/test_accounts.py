"""Logging in and out, the rate limit, first-run set-up, CSRF and API tokens."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from fedipanel import create_app
from fedipanel.accounts import users
from fedipanel.db import db
from tests.helpers import PASSWORD, Auth, Factory, app_config


def test_login_page_has_the_inputs_scripts_drive(client: FlaskClient, factory: Factory) -> None:
    factory.provider()
    page = client.get("/login").get_data(as_text=True)
    assert 'name="email"' in page
    assert 'name="password"' in page


def test_operator_logs_in_and_lands_on_the_dashboard(
    client: FlaskClient, auth: Auth, factory: Factory
) -> None:
    factory.operator("op@acme.example")
    response = auth.login("OP@acme.example")
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    assert client.get("/").headers["Location"] == "/dashboard"
    assert client.get("/dashboard").status_code == 200


def test_wrong_password_is_refused_without_saying_which_part_was_wrong(
    auth: Auth, factory: Factory
) -> None:
    factory.operator("op@acme.example")
    for email in ("op@acme.example", "nobody@acme.example"):
        response = auth.login(email, "wrong password!")
        assert response.status_code == 401
        assert "Wrong email or password." in response.get_data(as_text=True)


def test_login_is_rate_limited_after_repeated_failures(auth: Auth, factory: Factory) -> None:
    factory.operator("op@acme.example")
    for _ in range(5):
        assert auth.login("op@acme.example", "wrong password!").status_code == 401
    blocked = auth.login("op@acme.example")  # even the right password waits
    assert blocked.status_code == 429
    assert "Too many failed attempts" in blocked.get_data(as_text=True)


def _login_from(client: FlaskClient, address: str, password: str) -> Any:
    return client.post(
        "/login",
        data={"email": "op@acme.example", "password": password},
        environ_base={"REMOTE_ADDR": address},
    )


def test_failures_from_elsewhere_never_refuse_the_right_password_from_a_new_address(
    client: FlaskClient, factory: Factory
) -> None:
    factory.operator("op@acme.example")
    for attacker in ("198.51.100.1", "198.51.100.2"):
        for _ in range(5):
            _login_from(client, attacker, "wrong password!")
    assert _login_from(client, "198.51.100.1", "wrong password!").status_code == 429
    assert _login_from(client, "203.0.113.7", PASSWORD).status_code == 302


def test_an_emails_failures_from_everywhere_slow_the_addresses_that_failed(
    client: FlaskClient, factory: Factory
) -> None:
    factory.operator("op@acme.example")
    for n in range(10):  # ten addresses, one failure each: twice the email's limit
        assert _login_from(client, f"198.51.100.{n}", "wrong password!").status_code == 401
    slowed = _login_from(client, "198.51.100.0", PASSWORD)
    assert slowed.status_code == 429
    assert "Too many failed attempts" in slowed.get_data(as_text=True)


def test_the_delay_after_an_emails_failures_doubles_up_to_the_window() -> None:
    window = timedelta(minutes=5)
    delays = [users.email_delay(n, 5, window).total_seconds() for n in range(4, 16)]
    assert delays == [0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300]


def test_logout_ends_the_session(client: FlaskClient, auth: Auth, factory: Factory) -> None:
    factory.operator("op@acme.example")
    auth.login("op@acme.example")
    assert auth.logout().status_code == 302
    assert client.get("/dashboard").status_code == 302


def test_a_cookie_copied_before_logout_does_not_work_afterwards(
    app: Flask, client: FlaskClient, auth: Auth, factory: Factory
) -> None:
    factory.operator("op@acme.example")
    auth.login("op@acme.example")
    cookie = client.get_cookie("session")
    assert cookie is not None
    copy = app.test_client()
    copy.set_cookie("session", cookie.value)
    assert copy.get("/dashboard").status_code == 200
    auth.logout()
    assert copy.get("/dashboard").status_code == 302
    assert copy.post("/account/tokens", data={"name": "stolen"}).status_code in (302, 400)


def test_session_cookie_is_httponly_and_samesite(
    client: FlaskClient, auth: Auth, factory: Factory
) -> None:
    factory.operator("op@acme.example")
    cookie = auth.login("op@acme.example").headers["Set-Cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie


def test_passwords_are_stored_as_argon2id(app: Flask, factory: Factory) -> None:
    factory.operator("op@acme.example")
    with app.app_context():
        user = users.find_user("op@acme.example")
        assert user is not None
        assert user.password_hash.startswith("$argon2id$")
        assert PASSWORD not in user.password_hash


def test_first_start_asks_for_the_setup_code(app: Flask, client: FlaskClient) -> None:
    assert client.get("/").headers["Location"] == "/setup"
    assert client.get("/login").headers["Location"] == "/setup"
    data = {"code": "wrong", "email": "admin@provider.example", "password": PASSWORD}
    refused = client.post("/setup", data=data)
    assert refused.status_code == 400
    assert "set-up code" in refused.get_data(as_text=True)

    data["code"] = (Path(app.instance_path) / "setup-code").read_text()
    assert client.post("/setup", data=data).headers["Location"] == "/provider/operators"
    assert client.get("/setup").headers["Location"] == "/login"  # only once
    assert not (Path(app.instance_path) / "setup-code").exists()  # the code has served


def test_the_setup_code_allows_only_a_few_tries_a_minute(app: Flask, client: FlaskClient) -> None:
    code = Path(app.instance_path) / "setup-code"
    data = {"code": "wrong", "email": "admin@provider.example", "password": PASSWORD}
    for _ in range(5):
        assert client.post("/setup", data=data).status_code == 400
    guesser = app.test_client()
    blocked = guesser.post("/setup", data=data | {"code": "another guess"})
    assert blocked.status_code == 429
    assert "Too many wrong set-up codes" in blocked.get_data(as_text=True)
    # Even the right code waits: guessing stays as slow as the limit says.
    data["code"] = code.read_text()
    assert client.post("/setup", data=data).status_code == 429


def test_provider_creates_an_operator_in_the_ui(
    client: FlaskClient, auth: Auth, factory: Factory
) -> None:
    factory.provider()
    auth.login("admin@provider.example")
    bad = client.post("/provider/operators", data={"email": "x", "password": PASSWORD})
    assert bad.status_code == 400
    assert "email address" in bad.get_data(as_text=True)
    data = {"email": "new@shop.example", "password": PASSWORD, "slug": ""}
    assert client.post("/provider/operators", data=data).status_code == 302
    listing = client.get("/provider/operators").get_data(as_text=True)
    assert "new@shop.example" in listing
    assert "<code>new</code>" in listing


def test_operator_cannot_open_provider_pages(
    client: FlaskClient, auth: Auth, factory: Factory
) -> None:
    factory.operator("op@acme.example")
    auth.login("op@acme.example")
    assert client.get("/provider/operators").status_code == 403
    assert client.post("/provider/operators", data={"email": "a@b.example"}).status_code == 403


def test_operator_creates_and_revokes_a_token_in_the_ui(
    client: FlaskClient, auth: Auth, factory: Factory
) -> None:
    factory.operator("op@acme.example", slug="acme")
    auth.login("op@acme.example")
    page = client.post("/account/tokens", data={"name": "ci"}).get_data(as_text=True)
    token = page.split('id="new-token">')[1].split("<")[0]
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/deployments", headers=headers).status_code == 200

    listing = client.get("/account/tokens").get_data(as_text=True)
    assert token not in listing  # shown once only
    token_id = listing.split("/account/tokens/")[1].split("/revoke")[0]
    client.post(f"/account/tokens/{token_id}/revoke", data={"confirm": "yes"})
    assert client.get("/api/v1/deployments", headers=headers).status_code == 401


def test_tokens_are_stored_hashed(app: Flask, factory: Factory) -> None:
    token = factory.token(factory.operator())
    with app.app_context():
        from sqlalchemy import select

        from fedipanel.accounts.models import ApiToken

        stored = db.session.scalars(select(ApiToken.token_hash)).all()
    assert token not in stored
    assert all(len(value) == 64 for value in stored)


@pytest.fixture
def csrf_client(tmp_path: Path) -> FlaskClient:
    app = create_app(app_config(tmp_path, WTF_CSRF_ENABLED=True))
    with app.app_context():
        db.create_all()
        users.create_user("admin@provider.example", PASSWORD, "provider")
        users.create_user("op@acme.example", PASSWORD, "operator")
    return app.test_client()


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("post", "/login"),
        ("post", "/configuration"),
        ("post", "/configuration/validate"),
        ("post", "/deployments"),
        ("post", "/account/tokens"),
        ("post", "/logout"),
    ],
)
def test_forms_without_csrf_token_are_refused(
    csrf_client: FlaskClient, method: str, path: str
) -> None:
    response = getattr(csrf_client, method)(path, data={"email": "op@acme.example"})
    assert response.status_code == 400
    assert "CSRF" in response.get_data(as_text=True)


def test_login_with_csrf_token_works(csrf_client: FlaskClient) -> None:
    page = csrf_client.get("/login").get_data(as_text=True)
    token = page.split('name="csrf_token" value="')[1].split('"')[0]
    data = {"email": "op@acme.example", "password": PASSWORD, "csrf_token": token}
    assert csrf_client.post("/login", data=data).status_code == 302


def test_htmx_requests_carry_the_csrf_header(csrf_client: FlaskClient) -> None:
    page = csrf_client.get("/login").get_data(as_text=True)
    token = page.split('name="csrf_token" value="')[1].split('"')[0]
    csrf_client.post(
        "/login", data={"email": "op@acme.example", "password": PASSWORD, "csrf_token": token}
    )
    page = csrf_client.get("/configuration").get_data(as_text=True)
    assert 'hx-headers=\'{"X-CSRFToken": "' in page
    header = page.split('"X-CSRFToken": "')[1].split('"')[0]
    response = csrf_client.post(
        "/configuration/validate",
        data={"domain": "x"},
        headers={"X-CSRFToken": header, "HX-Request": "true"},
    )
    assert response.status_code == 200


def test_pages_send_a_strict_content_security_policy(client: FlaskClient, factory: Factory) -> None:
    factory.provider()
    csp = client.get("/login").headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp
    assert "unsafe-inline" not in csp


def test_next_parameter_cannot_redirect_off_site(client: FlaskClient, factory: Factory) -> None:
    factory.operator("op@acme.example")
    response = client.post(
        "/login?next=//evil.example/x", data={"email": "op@acme.example", "password": PASSWORD}
    )
    assert response.headers["Location"] == "/"


def test_session_cookie_is_secure_when_served_over_https(tmp_path: Path) -> None:
    app = create_app(app_config(tmp_path, HTTPS=True))
    with app.app_context():
        db.create_all()
        users.create_user("op@acme.example", PASSWORD, "operator")
        users.create_user("admin@provider.example", PASSWORD, "provider")
    response = app.test_client().post(
        "/login", data={"email": "op@acme.example", "password": PASSWORD}
    )
    assert "Secure" in response.headers["Set-Cookie"]
