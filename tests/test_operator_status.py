"""The provider disables and enables operators: on their page, over the API, on the command line."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import func, select

from fedipanel.accounts.models import User
from fedipanel.audit import log
from fedipanel.db import db
from fedipanel.deployments.lifecycle import start_deployment
from fedipanel.deployments.models import Deployment
from fedipanel.errors import Refused
from fedipanel.resources.models import RecordedResource
from fedipanel.settings import effective
from tests.helpers import PASSWORD, Api, Auth, Factory, sample_config, wait_for_jobs


@pytest.fixture
def operator_id(app: Flask, client: FlaskClient, factory: Factory) -> int:
    """An operator with a deployed configuration."""
    operator_id = factory.operator("op@acme.example", slug="acme")
    api = Api(client, factory.token(operator_id))
    api.put("/configuration", sample_config())
    api.post("/deployments")
    wait_for_jobs(app)
    return operator_id


def _deployed(app: Flask) -> tuple[Any, ...]:
    """Return what the operator has deployed, as the panel records it."""
    with app.app_context():
        resources = db.session.execute(
            select(RecordedResource.kind, RecordedResource.name, RecordedResource.updated_at)
        ).all()
        deployments = db.session.scalar(select(func.count()).select_from(Deployment))
        return (sorted(tuple(row) for row in resources), deployments)


def test_provider_disables_an_operator_on_their_page_and_enables_them_again(
    app: Flask, factory: Factory, operator_id: int
) -> None:
    operator = app.test_client()
    Auth(operator).login("op@acme.example")
    api = Api(app.test_client(), factory.token(operator_id))
    before = _deployed(app)
    provider = app.test_client()
    factory.provider()
    Auth(provider).login("admin@provider.example")

    response = provider.post(f"/provider/operators/{operator_id}/disable", follow_redirects=True)
    page = response.get_data(as_text=True)
    assert "is disabled" in page
    assert "keep running" in page
    assert 'id="account-status">disabled' in page
    assert _deployed(app) == before  # nothing the operator deployed was touched
    assert operator.get("/dashboard").status_code == 302  # the open session ended
    assert api.get("/configuration").status_code == 401
    refused = Auth(app.test_client()).login("op@acme.example")
    assert refused.status_code == 403
    assert "disabled" in refused.get_data(as_text=True)

    page = provider.post(
        f"/provider/operators/{operator_id}/enable", follow_redirects=True
    ).get_data(as_text=True)
    assert 'id="account-status">active' in page
    assert api.get("/configuration").status_code == 200  # the same token works again
    # Sessions open before disabling stay ended; a new login works.
    assert operator.get("/dashboard").status_code == 302
    assert Auth(operator).login("op@acme.example").status_code == 302
    assert operator.get("/dashboard").status_code == 200
    assert api.post("/deployments").status_code == 202
    wait_for_jobs(app)


def test_a_disabled_operator_cannot_deploy_through_the_api(
    app: Flask, client: FlaskClient, factory: Factory, operator_id: int
) -> None:
    provider = Api(client, factory.token(factory.provider()))
    assert provider.post(f"/operators/{operator_id}/disable").get_json()["status"] == "disabled"
    with app.app_context():
        user = db.session.get(User, operator_id)
        assert user is not None
        with pytest.raises(Refused, match="disabled"):
            start_deployment(user, effective.current())


def test_provider_disables_and_enables_over_the_api(
    app: Flask, client: FlaskClient, factory: Factory, operator_id: int
) -> None:
    provider = Api(client, factory.token(factory.provider()))
    operator = Api(client, factory.token(operator_id))
    before = _deployed(app)

    first = provider.post(f"/operators/{operator_id}/disable")
    assert first.status_code == 200
    body = first.get_json()
    assert body["status"] == "disabled"
    assert body["disabledAt"].endswith("Z")
    assert provider.post(f"/operators/{operator_id}/disable").status_code == 200  # idempotent
    assert operator.get("/deployments").status_code == 401
    assert _deployed(app) == before
    assert provider.get(f"/operators/{operator_id}").get_json()["status"] == "disabled"

    enabled = provider.post(f"/operators/{operator_id}/enable").get_json()
    assert enabled["status"] == "active"
    assert enabled["disabledAt"] is None
    assert operator.get("/deployments").status_code == 200
    assert _actions(app, operator_id).count("operator.disabled") == 1


def test_disable_and_enable_on_the_command_line(
    app: Flask, runner: FlaskCliRunner, client: FlaskClient, factory: Factory, operator_id: int
) -> None:
    operator = Api(client, factory.token(operator_id))
    result = runner.invoke(args=["fedipanel", "disable-operator", "--email", "OP@acme.example"])
    assert result.exit_code == 0, result.output
    assert "disabled" in result.output
    assert operator.get("/deployments").status_code == 401
    again = runner.invoke(args=["fedipanel", "disable-operator", "--email", "op@acme.example"])
    assert "already disabled" in again.output

    result = runner.invoke(args=["fedipanel", "enable-operator", "--email", "op@acme.example"])
    assert result.exit_code == 0, result.output
    assert operator.get("/deployments").status_code == 200
    assert Auth(app.test_client()).login("op@acme.example", PASSWORD).status_code == 302


@pytest.mark.parametrize("command", ["disable-operator", "enable-operator"])
def test_the_commands_refuse_an_unknown_or_provider_email(
    runner: FlaskCliRunner, factory: Factory, command: str
) -> None:
    factory.provider()
    for email in ("nobody@acme.example", "admin@provider.example"):
        result = runner.invoke(args=["fedipanel", command, "--email", email])
        assert result.exit_code != 0
        assert "no operator account" in result.output


def _actions(app: Flask, operator_id: int) -> list[str]:
    with app.app_context():
        return [entry.action for entry in log.entries(operator_id=operator_id)]
