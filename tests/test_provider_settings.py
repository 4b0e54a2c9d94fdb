"""The provider's settings page: saving, secrets encrypted and never shown, environment wins."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from fedipanel.db import db
from fedipanel.provider_settings.models import ProviderSetting
from fedipanel.settings import effective
from tests.helpers import Auth, Factory, sample_config, wait_for_jobs

# No relay answers there: saving it takes the provider's confirmation.
MAIL = {
    "save_anyway": "yes",
    "SMTP_HOST": "smtp.provider.example",
    "SMTP_PORT": "2525",
    "SMTP_USER": "relay",
    "SMTP_PASSWORD": "relay-password-123",
    "SMTP_FROM_DOMAIN": "",
}


@pytest.fixture
def provider(client: FlaskClient, auth: Auth, factory: Factory) -> FlaskClient:
    factory.provider()
    auth.login("admin@provider.example")
    return client


def test_provider_saves_mail_settings_and_the_secret_is_encrypted(
    app: Flask, provider: FlaskClient
) -> None:
    assert provider.post("/provider/settings/mail", data=MAIL).status_code == 302
    page = provider.get("/provider/settings/mail").get_data(as_text=True)
    assert 'value="smtp.provider.example"' in page
    assert "relay-password-123" not in page
    assert "set (hidden)" in page
    with app.app_context():
        stored = db.session.get(ProviderSetting, "SMTP_PASSWORD")
        assert stored is not None
        assert stored.is_secret
        assert "relay-password-123" not in stored.value
        assert effective.current().provider["SMTP_PASSWORD"].text == "relay-password-123"


def test_blank_secret_keeps_the_stored_one_and_clear_removes_it(
    app: Flask, provider: FlaskClient
) -> None:
    provider.post("/provider/settings/mail", data=MAIL)
    provider.post("/provider/settings/mail", data={**MAIL, "SMTP_PASSWORD": ""})
    with app.app_context():
        assert effective.current().provider["SMTP_PASSWORD"].text == "relay-password-123"
    provider.post(
        "/provider/settings/mail", data={**MAIL, "SMTP_PASSWORD": "", "clear": "SMTP_PASSWORD"}
    )
    with app.app_context():
        assert effective.current().provider["SMTP_PASSWORD"].text is None


def test_invalid_value_is_refused_at_the_field_and_nothing_saved(
    app: Flask, provider: FlaskClient
) -> None:
    response = provider.post("/provider/settings/mail", data={**MAIL, "SMTP_PORT": "lots"})
    assert response.status_code == 422
    assert "must be a port number" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalars(select(ProviderSetting)).all() == []


@pytest.mark.parametrize("app_overrides", [{"SMTP_HOST": "env-relay.example"}])
def test_environment_wins_and_is_shown_read_only(app: Flask, provider: FlaskClient) -> None:
    provider.post("/provider/settings/mail", data=MAIL)
    page = provider.get("/provider/settings/mail").get_data(as_text=True)
    assert 'value="env-relay.example" disabled' in page
    with app.app_context():
        assert effective.current().provider["SMTP_HOST"].text == "env-relay.example"


def test_operator_cannot_open_the_settings(
    client: FlaskClient, auth: Auth, factory: Factory
) -> None:
    factory.operator()
    auth.login("op@acme.example")
    assert client.get("/provider/settings").status_code == 403
    assert client.post("/provider/settings/mail", data=MAIL).status_code == 403


def test_saved_mail_relay_is_real_and_its_password_never_reaches_the_log(
    app: Flask, provider: FlaskClient, factory: Factory
) -> None:
    from tests.helpers import Api

    provider.post("/provider/settings/mail", data=MAIL)
    api = Api(app.test_client(), factory.token(factory.operator("op@acme.example", slug="acme")))
    api.put("/configuration", sample_config())
    changes = api.post("/plan").get_json()["changes"]
    assert {c["spec"]["port"] for c in changes if c["kind"] == "mail"} == {2525}
    deployment_id = api.post("/deployments").get_json()["id"]
    wait_for_jobs(app)
    deployment = api.get(f"/deployments/{deployment_id}").get_json()
    assert deployment["status"] == "succeeded"
    assert "mail relay" not in deployment["simulated"]
    assert "relay-password-123" not in str(deployment)
