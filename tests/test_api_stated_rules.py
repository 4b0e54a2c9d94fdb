"""Rules the OpenAPI document states are the rules the code applies, in both directions."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient

from fedipanel.core.maintenance import time_zones
from fedipanel.web.api.openapi import openapi_document
from tests.helpers import Api, Factory

DIRECTORY = {
    "url": "ldaps://ldap.acme.example",
    "bindDn": "cn=panel,dc=acme,dc=example",
    "baseDn": "ou=people,dc=acme,dc=example",
    "bindPassword": "directory secret",
}
SLOTS = [{"day": "sun", "start": "02:00", "hours": 2}]


@pytest.fixture
def provider_api(client: FlaskClient, factory: Factory) -> Api:
    return Api(client, factory.token(factory.provider()))


def schemas() -> dict[str, Any]:
    return openapi_document()["components"]["schemas"]


def test_testing_the_saved_directory_before_saving_one_is_a_conflict(operator_api: Api) -> None:
    answer = operator_api.post("/identity/test", {})
    assert answer.status_code == 409
    assert answer.get_json()["errors"][0]["loc"] == ["identity"]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("url", " ldaps://ldap.acme.example"),
        ("url", "LDAPS://ldap.acme.example"),
        ("url", "ldaps://[::1]"),
        ("bindDn", "cn=panel,dc=acme,dc=example\n"),
        ("userFilter", "(uid=a)(uid=b)"),
        ("userFilter", "(objectClass=person"),
        ("usernameAttribute", "uid "),
        ("caCertificate", "not a certificate"),
    ],
)
def test_directory_values_outside_their_pattern_are_refused_at_the_field(
    operator_api: Api, field: str, value: str
) -> None:
    pattern = schemas()["DirectoryInput"]["properties"][field]["pattern"]
    assert not re.fullmatch(pattern, value)
    answer = operator_api.put("/identity", {**DIRECTORY, field: value})
    assert answer.status_code == 422
    assert answer.get_json()["errors"][0]["loc"] == [field]


def test_nested_filters_within_the_documented_depth_are_saved(operator_api: Api) -> None:
    nested = "(&(objectClass=person)(|(ou=staff)(!(ou=former))))"
    assert re.fullmatch(schemas()["DirectoryInput"]["properties"]["userFilter"]["pattern"], nested)
    answer = operator_api.put("/identity", {**DIRECTORY, "userFilter": nested})
    assert answer.status_code == 200, answer.get_json()
    assert answer.get_json()["userFilter"] == nested


def test_the_first_directory_needs_its_bind_password(operator_api: Api) -> None:
    without = {key: value for key, value in DIRECTORY.items() if key != "bindPassword"}
    answer = operator_api.put("/identity", without)
    assert answer.status_code == 422
    assert answer.get_json()["errors"][0]["loc"] == ["bindPassword"]
    assert operator_api.put("/identity", DIRECTORY).status_code == 200
    assert operator_api.put("/identity", without).status_code == 200


def test_window_time_zones_are_exactly_the_documented_list(operator_api: Api) -> None:
    documented = schemas()["MaintenanceWindow"]["properties"]["timezone"]["enum"]
    assert documented == list(time_zones())
    assert "Europe/Amsterdam" in documented
    for zone in ("EST5EDT", "Etc/../UTC", "europe/amsterdam"):
        assert zone not in documented
        answer = operator_api.put("/maintenance-window", {"timezone": zone, "slots": SLOTS})
        assert answer.status_code == 422, zone
        assert answer.get_json()["errors"][0]["loc"] == ["timezone"]
    saved = operator_api.put("/maintenance-window", {"timezone": "UTC", "slots": SLOTS})
    assert saved.status_code == 200


def rollout(**changes: Any) -> dict[str, Any]:
    deadline = (datetime.now(UTC) + timedelta(days=30)).replace(microsecond=0)
    body = {
        "title": "Security update",
        "reason": "A fix for the services.",
        "deadline": deadline.isoformat(),
        "change": {"kind": "redeploy"},
    }
    return {**body, **changes}


@pytest.mark.parametrize(
    ("changes", "loc"),
    [
        ({"deadline": 1893456000}, ["deadline"]),
        ({"deadline": "2030-01-01T00:00"}, ["deadline"]),
        ({"deadline": "9999-12-31T23:59:59-23:59"}, ["deadline"]),
        ({"title": " \t"}, ["title"]),
        ({"reason": "line\x0bbreak"}, ["reason"]),
        ({"operators": []}, ["operators"]),
        ({"change": {"kind": "sizes", "sizes": {"lemmy": {}}}}, ["change", "sizes", "sizes"]),
        (
            {"change": {"kind": "pin", "flakeLock": {"nodes": {}, "root": "r", "version": True}}},
            ["change", "pin", "flakeLock"],
        ),
    ],
)
def test_rollouts_outside_their_schema_are_refused_at_the_field(
    provider_api: Api, changes: dict[str, Any], loc: list[str]
) -> None:
    answer = provider_api.post("/rollouts", rollout(**changes))
    assert answer.status_code == 422
    assert answer.get_json()["errors"][0]["loc"][: len(loc)] == loc


def test_rollout_deadline_with_its_offset_is_taken(provider_api: Api) -> None:
    assert provider_api.post("/rollouts", rollout()).status_code == 201


@pytest.mark.parametrize("path", ["/mail/test", "/identity/sync", "/rollouts/1/pause"])
def test_bodies_that_take_nothing_refuse_fields(
    operator_api: Api, provider_api: Api, path: str
) -> None:
    api = provider_api if path.startswith("/rollouts") else operator_api
    if path.startswith("/rollouts"):
        assert api.post("/rollouts", rollout()).status_code == 201
    answer = api.post(path, {"force": True})
    assert answer.status_code == 422
    assert answer.get_json()["errors"][0]["loc"] == ["force"]


def test_revealing_a_password_of_a_service_without_one_is_not_found_first(
    operator_api: Api,
) -> None:
    assert operator_api.post("/services/mastodon/admin-password", {}).status_code == 404
    unknown = operator_api.post("/services/mastodon/admin-password", {"password": "x", "y": 1})
    assert unknown.status_code == 404


@pytest.mark.parametrize(
    "url",
    [
        " https://hooks.acme.example/panel",
        "https://hooks.acme.example/caf\u00e9",
        "https://[2001:db8::1]/hook",
        "https://hooks.acme.example:0/",
    ],
)
def test_webhook_urls_outside_the_documented_pattern_are_refused(
    operator_api: Api, url: str
) -> None:
    pattern = openapi_document()["paths"]["/webhook"]["put"]["requestBody"]["content"][
        "application/json"
    ]["schema"]["properties"]["url"]["pattern"]
    assert not re.fullmatch(pattern, url)
    answer = operator_api.put("/webhook", {"url": url})
    assert answer.status_code == 422
    assert answer.get_json()["errors"][0]["loc"] == ["url"]


def test_the_served_document_states_http_webhooks_when_the_provider_allows_them(
    app: Any, operator_api: Api
) -> None:
    def pattern() -> str:
        document = operator_api.get("/openapi.json").get_json()
        body = document["paths"]["/webhook"]["put"]["requestBody"]["content"]
        return str(body["application/json"]["schema"]["properties"]["url"]["pattern"])

    assert not re.fullmatch(pattern(), "http://127.0.0.1:8080/h")
    app.config["WEBHOOK_ALLOW_HTTP"] = "1"
    assert re.fullmatch(pattern(), "http://127.0.0.1:8080/h")
    assert operator_api.put("/webhook", {"url": "http://127.0.0.1:8080/h"}).status_code == 200
