"""The provider's relay: its connection test, and the operator's DKIM-signed test mail."""

from __future__ import annotations

import base64
import email
from typing import Any

import dkim
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from fedipanel.db import db
from fedipanel.keys.dkim import txt_value
from fedipanel.keys.models import DkimKey
from fedipanel.providers.mail import settings as mail_settings
from tests.helpers import Api, Auth, Factory, free_port, sample_config
from tests.plugins.smtp import REFUSED_RECIPIENT, FakeRelay

# --- Test connection --------------------------------------------------------------------------


def test_connection_succeeds_with_starttls_and_the_right_login(smtp_relay: FakeRelay) -> None:
    assert mail_settings.test_connection(smtp_relay.settings()) == []
    assert smtp_relay.logins == [("relay-user", True)]


def test_connection_says_the_password_is_wrong(smtp_relay: FakeRelay) -> None:
    (problem,) = mail_settings.test_connection(smtp_relay.settings(SMTP_PASSWORD="wrong"))
    assert problem.startswith("The relay refused the user name or password (535")
    assert "wrong" not in problem
    assert smtp_relay.logins == [("relay-user", False)]


def test_connection_refuses_a_relay_without_starttls(plaintext_relay: FakeRelay) -> None:
    (problem,) = mail_settings.test_connection(plaintext_relay.settings())
    assert "does not offer STARTTLS" in problem
    assert plaintext_relay.logins == []  # the password never went out in the clear


def test_connection_says_when_nothing_listens() -> None:
    port = free_port()
    (problem,) = mail_settings.test_connection({"SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(port)})
    assert problem == f"127.0.0.1:{port} refused the connection: is the port right?"


def test_connection_says_when_the_certificate_is_not_trusted(
    smtp_relay: FakeRelay, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SSL_CERT_FILE")
    (problem,) = mail_settings.test_connection(smtp_relay.settings())
    assert problem.startswith("The relay's TLS certificate is not trusted")
    assert smtp_relay.logins == []


def test_connection_needs_the_password_when_a_user_is_set(smtp_relay: FakeRelay) -> None:
    (problem,) = mail_settings.test_connection(smtp_relay.settings(SMTP_PASSWORD=None))
    assert "no password" in problem


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("SMTP_HOST", "smtp.example;rm -rf"),
        ("SMTP_HOST", "relay .example"),
        ("SMTP_PORT", "0"),
        ("SMTP_PORT", "65536"),
        ("SMTP_PORT", "\uff15\uff18\uff17"),  # full-width digits
        ("SMTP_USER", "relay user"),
        ("SMTP_USER", 'relay"user'),
        ("SMTP_USER", "relay,user"),
        ("SMTP_USER", "u" * 255),
        ("SMTP_PASSWORD", "line\nnext"),
    ],
)
def test_relay_values_that_would_break_postfix_are_refused(key: str, value: str) -> None:
    values = {"SMTP_HOST": "smtp.provider.example", "SMTP_PORT": "587", key: value}
    assert key in mail_settings.validate(values)


def test_provider_page_tests_the_connection(
    smtp_relay: FakeRelay, client: FlaskClient, auth: Auth, factory: Factory
) -> None:
    factory.provider()
    auth.login("admin@provider.example")
    assert client.post("/provider/settings/mail", data=smtp_relay.settings()).status_code == 302
    page = client.post("/provider/settings/mail/test").get_data(as_text=True)
    assert "Mail relay: connection works." in page
    # Saving tested the relay first, then the button did.
    assert smtp_relay.logins == [("relay-user", True)] * 2


# --- Send test mail -----------------------------------------------------------------------------


def _dns_from(app: Flask) -> Any:
    """Answer DKIM key queries from the stored public key, as the DNS records will."""
    with app.app_context():
        (key,) = db.session.scalars(select(DkimKey)).all()
        name, value = f"{key.selector}._domainkey.{key.domain}.", txt_value(key)

    def dnsfunc(qname: bytes, timeout: float = 5) -> bytes | None:
        return value.encode() if qname.decode() == name else None

    return dnsfunc


@pytest.fixture
def app_overrides(request: pytest.FixtureRequest) -> dict[str, Any]:
    """Point the panel at the relay in the tests that start one."""
    if "smtp_relay" in request.fixturenames:
        relay: FakeRelay = request.getfixturevalue("smtp_relay")
        return relay.settings()
    return {}


def test_test_mail_arrives_signed_and_authenticated(
    app: Flask, smtp_relay: FakeRelay, operator_api: Api
) -> None:
    assert operator_api.put("/configuration", sample_config()).status_code == 200
    response = operator_api.post("/mail/test", {})
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["accepted"] is True
    assert body["code"] == 250
    assert body["reply"] == "2.0.0 Ok: queued as TEST1"
    assert body["recipient"] == "alice@acme.example"
    assert body["from"] == "notifications@mastodon.acme.example"
    assert body["dkim"] == "d=acme.example s=fedipanel"

    (received,) = smtp_relay.messages
    assert received.login == "relay-user"  # AUTH was required, and given
    assert received.tls
    assert received.recipients == ["alice@acme.example"]
    assert received.sender == "notifications@mastodon.acme.example"
    assert dkim.verify(received.content, dnsfunc=_dns_from(app))
    signature = email.message_from_bytes(received.content)["DKIM-Signature"]
    tags = dict(part.strip().split("=", 1) for part in signature.split(";"))
    assert (tags["d"], tags["s"]) == ("acme.example", "fedipanel")


def test_a_signature_does_not_verify_against_another_key(
    app: Flask, smtp_relay: FakeRelay, operator_api: Api
) -> None:
    operator_api.put("/configuration", sample_config())
    assert operator_api.post("/mail/test", {}).status_code == 200
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key()
    der = other.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    record = f"v=DKIM1; k=rsa; p={base64.b64encode(der).decode()}".encode()
    (received,) = smtp_relay.messages
    assert not dkim.verify(received.content, dnsfunc=lambda *_args, **_kw: record)


def test_a_refusal_is_reported_in_the_relays_words(
    smtp_relay: FakeRelay, operator_api: Api
) -> None:
    config = sample_config(admin={"username": "alice", "email": REFUSED_RECIPIENT})
    operator_api.put("/configuration", config)
    body = operator_api.post("/mail/test", {}).get_json()
    assert body["accepted"] is False
    assert body["code"] == 550
    assert "mailbox unavailable" in body["reply"]
    assert smtp_relay.messages == []


def test_test_mail_without_a_relay_is_a_conflict(operator_api: Api) -> None:
    operator_api.put("/configuration", sample_config())
    response = operator_api.post("/mail/test", {})
    assert response.status_code == 409
    (error,) = response.get_json()["errors"]
    assert error["loc"] == ["mail"]
    assert "No mail relay is configured" in error["msg"]


def test_test_mail_before_any_configuration_is_a_conflict(
    smtp_relay: FakeRelay, operator_api: Api
) -> None:
    response = operator_api.post("/mail/test", {})
    assert response.status_code == 409
    assert smtp_relay.messages == []


def test_test_mail_with_a_wrong_relay_password_is_unavailable(
    app: Flask, smtp_relay: FakeRelay, operator_api: Api
) -> None:
    app.config["SMTP_PASSWORD"] = "wrong"
    operator_api.put("/configuration", sample_config())
    response = operator_api.post("/mail/test", {})
    assert response.status_code == 503
    (error,) = response.get_json()["errors"]
    assert "refused the user name or password" in error["msg"]
    assert "wrong" not in response.get_data(as_text=True)


def test_test_mail_needs_a_json_object(smtp_relay: FakeRelay, operator_api: Api) -> None:
    operator_api.put("/configuration", sample_config())
    assert operator_api.post("/mail/test", []).status_code == 400
    assert smtp_relay.messages == []


def test_test_mail_needs_an_operator_token(client: FlaskClient) -> None:
    assert client.post("/api/v1/mail/test", json={}).status_code == 401


def test_dashboard_sends_test_mail(
    smtp_relay: FakeRelay, client: FlaskClient, auth: Auth, factory: Factory, operator_api: Api
) -> None:
    operator_api.put("/configuration", sample_config())
    auth.login("op@acme.example")
    page = client.get("/dashboard").get_data(as_text=True)
    assert "Send test mail" in page
    result = client.post("/mail/test", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "Test mail accepted by the relay" in result
    assert "<html" not in result
    assert len(smtp_relay.messages) == 1


def test_openapi_documents_the_test_mail(client: FlaskClient) -> None:
    document = client.get("/api/v1/openapi.json").get_json()
    post = document["paths"]["/mail/test"]["post"]
    assert set(post["responses"]) >= {"200", "401", "409", "503"}
