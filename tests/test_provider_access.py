"""Who may use the provider's operator and audit routes, pages and API alike."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.helpers import Api, Auth, Factory, sample_config, wait_for_jobs

OPERATOR = "{operator}"
PROVIDER_API = [
    ("get", "/api/v1/operators"),
    ("get", f"/api/v1/operators/{OPERATOR}"),
    ("post", f"/api/v1/operators/{OPERATOR}/disable"),
    ("post", f"/api/v1/operators/{OPERATOR}/enable"),
    ("get", "/api/v1/audit"),
]
PER_OPERATOR_API = [(method, path) for method, path in PROVIDER_API if OPERATOR in path]
PROVIDER_PAGES = [
    ("get", f"/provider/operators/{OPERATOR}"),
    ("post", f"/provider/operators/{OPERATOR}/disable"),
    ("post", f"/provider/operators/{OPERATOR}/enable"),
    ("post", f"/provider/operators/{OPERATOR}/reset-password"),
    ("get", "/provider/audit"),
]
PER_OPERATOR_PAGES = [(method, path) for method, path in PROVIDER_PAGES if OPERATOR in path]


@pytest.fixture
def operator_id(factory: Factory) -> int:
    return factory.operator("op@acme.example", slug="acme")


def _call(client: FlaskClient, method: str, path: str, operator_id: int, **kwargs: object) -> int:
    response = getattr(client, method)(path.format(operator=operator_id), **kwargs)
    return int(response.status_code)


@pytest.mark.parametrize(("method", "path"), PROVIDER_API)
@pytest.mark.parametrize("header", [None, "Bearer", "Bearer fp_unknown", "Basic dXNlcjpwYXNz"])
def test_provider_api_without_a_valid_token_answers_401(
    client: FlaskClient, operator_id: int, method: str, path: str, header: str | None
) -> None:
    headers = {"Authorization": header} if header else {}
    assert _call(client, method, path, operator_id, json={}, headers=headers) == 401


@pytest.mark.parametrize(("method", "path"), PROVIDER_API)
def test_an_operators_token_on_provider_api_answers_403(
    client: FlaskClient, factory: Factory, operator_id: int, method: str, path: str
) -> None:
    api = Api(client, factory.token(operator_id))
    assert _call(client, method, path, operator_id, json={}, headers=api.headers) == 403


@pytest.mark.parametrize(("method", "path"), PER_OPERATOR_API)
def test_provider_api_answers_404_for_anything_but_an_operator(
    client: FlaskClient, factory: Factory, method: str, path: str
) -> None:
    provider_id = factory.provider()
    api = Api(client, factory.token(provider_id))
    for other in (provider_id, 999):  # a provider's account is not an operator's
        response = getattr(client, method)(
            path.format(operator=other), json={}, headers=api.headers
        )
        assert response.status_code == 404
        assert response.get_json()["errors"][0]["loc"] == ["operator"]


@pytest.mark.parametrize(("method", "path"), [p for p in PROVIDER_API if p[0] == "post"])
def test_provider_api_posts_need_a_json_body(
    client: FlaskClient, factory: Factory, operator_id: int, method: str, path: str
) -> None:
    api = Api(client, factory.token(factory.provider()))
    assert _call(client, method, path, operator_id, headers=api.headers) == 400


@pytest.mark.parametrize(("method", "path"), PROVIDER_PAGES)
def test_provider_pages_need_a_login(
    client: FlaskClient, operator_id: int, method: str, path: str
) -> None:
    response = getattr(client, method)(path.format(operator=operator_id))
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


@pytest.mark.parametrize(("method", "path"), PROVIDER_PAGES)
def test_an_operator_on_provider_pages_gets_403(
    client: FlaskClient, auth: Auth, operator_id: int, method: str, path: str
) -> None:
    auth.login("op@acme.example")
    assert _call(client, method, path, operator_id) == 403


@pytest.mark.parametrize(("method", "path"), PER_OPERATOR_PAGES)
def test_provider_pages_answer_404_for_anything_but_an_operator(
    client: FlaskClient, auth: Auth, factory: Factory, method: str, path: str
) -> None:
    provider_id = factory.provider()
    auth.login("admin@provider.example")
    assert _call(client, method, path, provider_id) == 404
    assert _call(client, method, path, 999) == 404


def test_the_operators_audit_page_needs_an_operators_login(
    client: FlaskClient, auth: Auth, factory: Factory
) -> None:
    response = client.get("/account/audit")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]
    factory.provider()
    auth.login("admin@provider.example")
    assert client.get("/account/audit").status_code == 403


def test_an_operator_cannot_read_another_operators_deployment_the_provider_can(
    app: Flask, client: FlaskClient, factory: Factory, operator_id: int
) -> None:
    owner = Api(client, factory.token(operator_id))
    owner.put("/configuration", sample_config())
    deployment = owner.post("/deployments").get_json()["id"]
    wait_for_jobs(app)
    factory.operator("op@shop.example", slug="shop")
    factory.provider()
    for email, status in (("op@shop.example", 404), ("admin@provider.example", 200)):
        reader = app.test_client()
        Auth(reader).login(email)
        assert reader.get(f"/deployments/{deployment}").status_code == status
        assert reader.get(f"/deployments/{deployment}/log.txt").status_code == status
