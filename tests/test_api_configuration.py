"""The configuration API: schema, versions, validation errors, nothing lost on bad input."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.helpers import Api, sample_config

# The API reads and writes through the app: it behaves the same on both databases.
pytestmark = pytest.mark.both_databases


def test_schema_is_served_without_a_token(client: FlaskClient) -> None:
    schema = client.get("/api/v1/schema").get_json()
    assert schema["title"] == "FediPanel operator configuration"
    assert set(schema["properties"]) >= {"domain", "admin", "services"}
    assert schema["additionalProperties"] is False


def test_configuration_is_404_before_the_first_save(operator_api: Api) -> None:
    response = operator_api.get("/configuration")
    assert response.status_code == 404
    assert response.get_json()["errors"][0]["loc"] == ["configuration"]


def test_every_save_is_a_new_version(operator_api: Api) -> None:
    first = operator_api.put("/configuration", sample_config()).get_json()
    assert first["version"] == 1
    assert first["changed"] is True
    same = operator_api.put("/configuration", sample_config()).get_json()
    assert same["version"] == 1
    assert same["changed"] is False
    changed = operator_api.put("/configuration", sample_config(domain="other.example")).get_json()
    assert changed["version"] == 2
    current = operator_api.get("/configuration").get_json()
    assert current["version"] == 2
    assert current["domain"] == "other.example"


def test_version_field_in_a_put_is_ignored(operator_api: Api) -> None:
    body = {**sample_config(), "version": 99}
    assert operator_api.put("/configuration", body).get_json()["version"] == 1


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        (sample_config(domain="not a domain"), ["domain"]),
        (sample_config(domain="ACME.example"), ["domain"]),
        (
            sample_config(admin={"username": "Alice!", "email": "alice@acme.example"}),
            ["admin", "username"],
        ),
        (sample_config(admin={"username": "alice", "email": "nope"}), ["admin", "email"]),
        (sample_config(admin={"username": "alice"}), ["admin", "email"]),
        (
            sample_config(services={"mastodon": {"enable": "maybe"}}),
            ["services", "mastodon", "enable"],
        ),
        (
            sample_config(services={"mastodon": {"enable": True, "subdomain": "-x"}}),
            ["services", "mastodon", "subdomain"],
        ),
        (sample_config(services={"friendica": {"enable": True}}), ["services", "friendica"]),
        ({**sample_config(), "colour": "blue"}, ["colour"]),
        ({"admin": {"username": "alice", "email": "alice@acme.example"}}, ["domain"]),
    ],
)
def test_invalid_configuration_answers_422_at_the_field_and_saves_nothing(
    operator_api: Api, body: dict[str, Any], loc: list[str]
) -> None:
    operator_api.put("/configuration", sample_config())
    response = operator_api.put("/configuration", body)
    assert response.status_code == 422
    errors = response.get_json()["errors"]
    assert loc in [error["loc"] for error in errors]
    assert all(error["msg"] for error in errors)
    assert operator_api.get("/configuration").get_json()["version"] == 1


@pytest.mark.parametrize("payload", [b"", b"{not json", b"[1, 2", b"null"])
def test_malformed_json_is_a_clear_400(operator_api: Api, payload: bytes) -> None:
    response = operator_api.client.put(
        "/api/v1/configuration",
        data=payload,
        headers={**operator_api.headers, "Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert response.get_json()["errors"][0]["loc"] == ["body"]


@pytest.mark.parametrize("body", [[], "text", 42])
def test_json_that_is_not_an_object_is_422(operator_api: Api, body: Any) -> None:
    response = operator_api.put("/configuration", body)
    assert response.status_code == 422


def test_plan_lists_create_update_delete_and_keep(operator_api: Api) -> None:
    assert operator_api.post("/plan").status_code == 404
    operator_api.put("/configuration", sample_config())
    plan = operator_api.post("/plan").get_json()
    assert plan["version"] == 1
    kinds = {(c["kind"], c["name"]) for c in plan["changes"]}
    assert ("machine", "mastodon") in kinds
    assert ("dns_record", "mastodon.acme.example") in kinds
    assert ("ssh_key", "deploy") in kinds
    assert ("machine", "pixelfed") not in kinds
    assert plan["summary"]["create"] == len(plan["changes"])


def test_plan_needs_a_json_body(operator_api: Api) -> None:
    response = operator_api.client.post("/api/v1/plan", headers=operator_api.headers)
    assert response.status_code == 400


def test_openapi_document_describes_every_route(app: Flask, client: FlaskClient) -> None:
    """Every route and method under /api/v1 is in the document, and nothing else is."""
    document = client.get("/api/v1/openapi.json").get_json()
    assert document["openapi"].startswith("3.1")

    def shape(path: str) -> str:
        return re.sub(r"<[^>]+>|\{[^}]+\}", "{}", path)

    served = {
        (shape(rule.rule.removeprefix("/api/v1")), method.lower())
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/api/v1/") and rule.rule != "/api/v1/openapi.json"
        for method in rule.methods or ()
        if method not in ("HEAD", "OPTIONS")
    }
    described = {
        (shape(path), method) for path, methods in document["paths"].items() for method in methods
    }
    assert described == served
    refs = _refs(document)
    assert refs, "the document references its schemas"
    for ref in refs:
        name = ref.removeprefix("#/components/schemas/")
        assert name in document["components"]["schemas"], ref


def test_openapi_document_is_valid(client: FlaskClient) -> None:
    from openapi_spec_validator import validate

    validate(client.get("/api/v1/openapi.json").get_json())


def _refs(value: Any) -> list[str]:
    if isinstance(value, dict):
        found = [value["$ref"]] if isinstance(value.get("$ref"), str) else []
        return found + [ref for item in value.values() for ref in _refs(item)]
    if isinstance(value, list):
        return [ref for item in value for ref in _refs(item)]
    return []
