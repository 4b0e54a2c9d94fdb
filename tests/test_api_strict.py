"""The API takes exactly what its document states: unknown fields and parameters are 422."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from fedipanel.web.api.openapi import openapi_document
from tests.helpers import Api, Factory, sample_config


@pytest.fixture
def provider_api(client: FlaskClient, factory: Factory) -> Api:
    return Api(client, factory.token(factory.provider()))


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/deployments", {"confirm": "acme.example", "force": True}),
        ("/deployments", {"dry_run": True}),
        ("/plan", {"verbose": True}),
    ],
)
def test_operator_bodies_refuse_unknown_fields(operator_api: Api, path: str, body: dict) -> None:
    operator_api.put("/configuration", sample_config())
    answer = operator_api.post(path, body)
    assert answer.status_code == 422
    loc = answer.get_json()["errors"][0]["loc"]
    assert loc in (["force"], ["dry_run"], ["verbose"])


@pytest.mark.parametrize("body", [True, "", [], None])
def test_deployment_and_plan_bodies_must_be_objects(operator_api: Api, body: object) -> None:
    operator_api.put("/configuration", sample_config())
    for path in ("/deployments", "/plan"):
        answer = operator_api.client.post(f"/api/v1{path}", json=body, headers=operator_api.headers)
        assert answer.status_code == 400, (path, body)


def test_confirm_must_be_a_string_even_null(operator_api: Api) -> None:
    operator_api.put("/configuration", sample_config())
    answer = operator_api.post("/deployments", {"confirm": None})
    assert answer.status_code == 422
    assert answer.get_json()["errors"][0]["loc"] == ["confirm"]


def test_account_deletion_refuses_unknown_fields(operator_api: Api) -> None:
    answer = operator_api.client.delete(
        "/api/v1/account", json={"confirm": "acme", "also": 1}, headers=operator_api.headers
    )
    assert answer.status_code == 422
    assert answer.get_json()["errors"][0]["loc"] == ["also"]


def test_provider_bodies_and_queries_refuse_unknown_names(
    provider_api: Api, factory: Factory
) -> None:
    operator_id = factory.operator("op@acme.example", slug="acme")
    answer = provider_api.post(f"/operators/{operator_id}/disable", {"reason": "x"})
    assert answer.status_code == 422
    assert answer.get_json()["errors"][0]["loc"] == ["reason"]
    for path in ("/operators?page=2", "/audit?user=1", f"/operators/{operator_id}/usage?x=1"):
        answer = provider_api.get(path)
        assert answer.status_code == 422, path


def test_stored_configuration_is_documented_with_its_version(operator_api: Api) -> None:
    schema = openapi_document()["components"]["schemas"]["StoredConfiguration"]
    answer = operator_api.put("/configuration", sample_config()).get_json()
    assert set(answer) <= set(schema["properties"])
    assert "allOf" not in schema


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("domain", " acme.example"),
        ("domain", "acme.example."),
        ("email", "alice@acme.example "),
    ],
)
def test_api_takes_names_exactly_as_documented(operator_api: Api, field: str, value: str) -> None:
    config = sample_config()
    if field == "email":
        config["admin"]["email"] = value
    else:
        config[field] = value
    answer = operator_api.put("/configuration", config)
    assert answer.status_code == 422


def test_idn_top_level_domains_are_accepted(operator_api: Api) -> None:
    assert (
        operator_api.put("/configuration", sample_config(domain="acme.xn--p1ai")).status_code == 200
    )


def test_bucket_urls_longer_than_their_column_are_refused_at_the_field(
    provider_api: Api, factory: Factory
) -> None:
    operator_id = factory.operator("op@acme.example", slug="acme")
    body = {
        "endpoint": "https://s3.example/" + "a" * 500,
        "region": "garage",
        "bucket": "legacy-media",
        "accessKeyId": "GK0123456789",
        "secretAccessKey": "secret",
    }
    answer = provider_api.put(f"/operators/{operator_id}/buckets/mastodon", body)
    assert answer.status_code == 422
    assert answer.get_json()["errors"][0]["loc"] == ["endpoint"]
    answer = provider_api.put(
        f"/operators/{operator_id}/buckets/mastodon",
        {**body, "endpoint": "https://s3.example", "publicUrl": "https://p.example/" + "b" * 500},
    )
    assert answer.status_code == 422
    assert answer.get_json()["errors"][0]["loc"] == ["publicUrl"]


def test_bucket_values_with_spaces_around_them_are_refused(
    provider_api: Api, factory: Factory
) -> None:
    operator_id = factory.operator("op@acme.example", slug="acme")
    body = {
        "endpoint": "https://s3.example",
        "region": " garage",
        "bucket": "legacy-media",
        "accessKeyId": "GK0123456789",
        "secretAccessKey": "secret",
    }
    answer = provider_api.put(f"/operators/{operator_id}/buckets/mastodon", body)
    assert answer.status_code == 422
    assert answer.get_json()["errors"][0]["loc"] == ["region"]
