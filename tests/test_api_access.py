"""Who may call which API route: tokens, roles and other operators' objects."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.helpers import Api, Factory, sample_config, wait_for_jobs

# The API reads and writes through the app: it behaves the same on both databases.
pytestmark = pytest.mark.both_databases

PROTECTED = [
    ("get", "/api/v1/configuration"),
    ("put", "/api/v1/configuration"),
    ("post", "/api/v1/plan"),
    ("post", "/api/v1/deployments"),
    ("get", "/api/v1/deployments"),
    ("get", "/api/v1/deployments/1"),
]


@pytest.mark.parametrize(("method", "path"), PROTECTED)
@pytest.mark.parametrize(
    "header", [None, "Bearer", "Bearer fp_unknown", "Basic dXNlcjpwYXNz", "fp_no_scheme"]
)
def test_missing_or_unknown_token_answers_401(
    client: FlaskClient, method: str, path: str, header: str | None
) -> None:
    headers = {"Authorization": header} if header else {}
    response = getattr(client, method)(path, json={}, headers=headers)
    assert response.status_code == 401
    assert response.get_json()["errors"][0]["msg"]
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize(("method", "path"), PROTECTED)
def test_provider_token_cannot_act_as_an_operator(
    client: FlaskClient, factory: Factory, method: str, path: str
) -> None:
    api = Api(client, factory.token(factory.provider()))
    response = getattr(api.client, method)(path, json={}, headers=api.headers)
    assert response.status_code == 403


def test_operator_cannot_see_other_operators_deployment(
    app: Flask, client: FlaskClient, factory: Factory, operator_api: Api
) -> None:
    operator_api.put("/configuration", sample_config())
    deployment_id = operator_api.post("/deployments").get_json()["id"]
    wait_for_jobs(app)
    other = Api(client, factory.token(factory.operator("other@shop.example", slug="shop")))

    assert other.get(f"/deployments/{deployment_id}").status_code == 404
    assert other.get("/deployments").get_json() == {"deployments": []}
    assert other.get("/configuration").status_code == 404
    assert operator_api.get(f"/deployments/{deployment_id}").status_code == 200


def test_operator_cannot_see_other_operators_deployment_page(
    app: Flask, client: FlaskClient, factory: Factory, operator_api: Api
) -> None:
    operator_api.put("/configuration", sample_config())
    deployment_id = operator_api.post("/deployments").get_json()["id"]
    wait_for_jobs(app)
    factory.operator("other@shop.example", slug="shop")
    client.post("/login", data={"email": "other@shop.example", "password": "correct horse battery"})
    assert client.get(f"/deployments/{deployment_id}").status_code == 404
    assert client.get(f"/deployments/{deployment_id}/log.txt").status_code == 404


def test_revoked_token_answers_401(client: FlaskClient, factory: Factory, app: Flask) -> None:
    from fedipanel.accounts import users
    from fedipanel.accounts.models import User
    from fedipanel.db import db

    user_id = factory.operator()
    api = Api(client, factory.token(user_id))
    assert api.get("/deployments").status_code == 200
    with app.app_context():
        user = db.session.get(User, user_id)
        assert user is not None
        users.revoke_token(user, user.tokens[0].id)
    assert api.get("/deployments").status_code == 401


@pytest.mark.parametrize(
    "path", ["/dashboard", "/configuration", "/plan", "/deployments", "/deployments/1"]
)
def test_pages_need_a_login(client: FlaskClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]
