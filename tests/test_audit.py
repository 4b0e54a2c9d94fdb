"""The audit log records who changed what, from where, and never a secret; disabled accounts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from fedipanel.accounts.models import User
from fedipanel.audit import log
from fedipanel.db import db
from tests.helpers import PASSWORD, Api, Auth, Factory, sample_config, wait_for_jobs


def actions(app: Flask, **filters: Any) -> list[tuple[str, int | None, str | None]]:
    with app.app_context():
        return [(e.action, e.operator_id, e.address) for e in log.entries(**filters)][::-1]


def test_what_an_operator_does_is_recorded_with_its_address(
    app: Flask, factory: Factory, auth: Auth, client: FlaskClient
) -> None:
    operator_id = factory.operator(slug="acme")
    auth.login("op@acme.example", "not the password")
    auth.login("op@acme.example")
    client.post("/account/tokens", data={"name": "ci"})
    api = Api(client, factory.token(operator_id))
    api.put("/configuration", sample_config())
    api.post("/deployments")
    wait_for_jobs(app)
    auth.logout()
    recorded = actions(app, operator_id=operator_id)
    assert [a for a, _, _ in recorded] == [
        "login.failed",
        "login",
        "token.created",
        "configuration.saved",
        "deployment.started",
        "deployment.finished",
        "logout",
    ]
    assert {address for _, _, address in recorded if address} == {"127.0.0.1"}
    with app.app_context():
        everything = str([(e.details, e.actor_email) for e in log.entries()])
    assert PASSWORD not in everything
    assert "not the password" not in everything


def test_secret_details_are_never_stored(app: Flask) -> None:
    with app.app_context():
        entry = log.record(log.Action.SETTINGS_CHANGED, token="fp_abc", smtp_password="x", ok=1)
        assert entry.details == {"token": "[redacted]", "smtp_password": "[redacted]", "ok": 1}


@pytest.mark.parametrize("app_overrides", [{"TRUSTED_PROXIES": 1}])
def test_the_client_address_behind_a_trusted_proxy_is_recorded(
    app: Flask, factory: Factory, client: FlaskClient
) -> None:
    factory.operator()
    client.post(
        "/login",
        data={"email": "op@acme.example", "password": PASSWORD},
        headers={"X-Forwarded-For": "198.51.100.7"},
    )
    assert actions(app)[-1] == ("login", 1, "198.51.100.7")


def test_a_disabled_operator_cannot_log_in_use_tokens_or_deploy(
    app: Flask, factory: Factory, auth: Auth, client: FlaskClient
) -> None:
    operator_id = factory.operator(slug="acme")
    api = Api(client, factory.token(operator_id))
    api.put("/configuration", sample_config())
    auth.login("op@acme.example")
    assert client.get("/dashboard").status_code == 200
    with app.app_context():
        user = db.session.get(User, operator_id)
        assert user is not None
        user.disabled_at = datetime(2026, 12, 1)
        db.session.commit()
    # The open session ends, the token stops working, a new login says why.
    assert client.get("/dashboard").status_code == 302
    assert api.get("/configuration").status_code == 401
    page = auth.login("op@acme.example")
    assert page.status_code == 403
    assert "disabled" in page.get_data(as_text=True)
