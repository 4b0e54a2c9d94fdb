"""No input gives a 500: unreadable bodies are 400, bad values 422 at the field, unknown ids 404."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from fedipanel.core import sizes
from fedipanel.providers.garage import settings as garage
from fedipanel.providers.proxmox import settings as proxmox
from tests.helpers import Api, Auth, Factory, sample_config

# (method, path, token holder); {operator} is replaced by an operator's id.
JSON_ROUTES = [
    ("put", "/configuration", "operator"),
    ("post", "/plan", "operator"),
    ("post", "/deployments", "operator"),
    ("delete", "/account", "operator"),
    ("put", "/operators/{operator}/buckets/mastodon", "provider"),
    ("post", "/operators/{operator}/disable", "provider"),
    ("post", "/operators/{operator}/enable", "provider"),
]

DEEP_JSON = "[" * 1000 + "]" * 1000


def _call(
    client: FlaskClient, factory: Factory, method: str, path: str, holder: str, data: str
) -> Any:
    operator = factory.operator()
    user = operator if holder == "operator" else factory.provider()
    api = Api(client, factory.token(user))
    return getattr(client, method)(
        "/api/v1" + path.format(operator=operator),
        data=data,
        content_type="application/json",
        headers=api.headers,
    )


@pytest.mark.parametrize(("method", "path", "holder"), JSON_ROUTES)
@pytest.mark.parametrize(
    "data",
    [DEEP_JSON, '{"a":' * 1000 + "1" + "}" * 1000, "[" * 33 + "]" * 33, "{not json", ""],
    ids=["deep-arrays", "deep-objects", "33-levels", "malformed", "empty"],
)
def test_unreadable_json_body_answers_400_on_every_json_route(
    client: FlaskClient, factory: Factory, method: str, path: str, holder: str, data: str
) -> None:
    response = _call(client, factory, method, path, holder, data)
    assert response.status_code == 400
    [error] = response.get_json()["errors"]
    assert error["loc"] == ["body"]
    assert error["msg"]


def test_too_deep_json_body_is_refused_naming_the_limit(
    client: FlaskClient, factory: Factory
) -> None:
    response = _call(client, factory, "put", "/configuration", "operator", DEEP_JSON)
    assert "32" in response.get_json()["errors"][0]["msg"]


def test_json_body_within_the_nesting_limit_is_read(client: FlaskClient, factory: Factory) -> None:
    nested = "[" * 32 + "]" * 32
    response = _call(client, factory, "put", "/configuration", "operator", nested)
    assert response.status_code == 422


def test_every_route_with_an_integer_id_answers_404_for_ids_beyond_64_bits(
    app: Flask, client: FlaskClient, factory: Factory, auth: Auth
) -> None:
    factory.provider()
    auth.login("admin@provider.example")
    rules = [rule for rule in app.url_map.iter_rules() if "<int:" in rule.rule]
    assert len(rules) >= 12
    for huge in (2**63, 20633045957221719998464):
        for rule in rules:
            path = re.sub(r"<int:\w+>", str(huge), rule.rule).replace("<name>", "x")
            path = path.replace("<service_name>", "mastodon")
            for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
                response = client.open(path, method=method, json={})
                assert response.status_code == 404, (method, path)


def test_largest_database_id_is_still_looked_up(client: FlaskClient, factory: Factory) -> None:
    api = Api(client, factory.token(factory.operator()))
    response = api.get(f"/deployments/{2**63 - 1}")
    assert response.status_code == 404
    assert response.get_json()["errors"][0]["msg"]


@pytest.mark.parametrize("domain", ["\ud800.example", "acme\x00.example"])
def test_domain_that_cannot_be_stored_is_refused_at_the_field(
    client: FlaskClient, factory: Factory, domain: str
) -> None:
    api = Api(client, factory.token(factory.operator()))
    response = api.put("/configuration", sample_config(domain=domain))
    assert response.status_code == 422
    [error] = response.get_json()["errors"]
    assert error["loc"] == ["domain"]
    assert "UTF-8" in error["msg"] or "NUL" in error["msg"]


@pytest.mark.parametrize(
    "field", ["endpoint", "region", "bucket", "accessKeyId", "secretAccessKey", "publicUrl"]
)
@pytest.mark.parametrize("bad", ["x\ud800", "x\x00"], ids=["surrogate", "nul"])
def test_bucket_field_that_cannot_be_stored_is_refused_at_the_field(
    client: FlaskClient, factory: Factory, field: str, bad: str
) -> None:
    operator = factory.operator()
    api = Api(client, factory.token(factory.provider()))
    body = {
        "endpoint": "https://s3.example",
        "region": "garage",
        "bucket": "media",
        "accessKeyId": "GK1234",
        "secretAccessKey": "secret",
        "publicUrl": "https://media.example",
    }
    body[field] = bad
    response = api.put(f"/operators/{operator}/buckets/mastodon", body)
    assert response.status_code == 422
    assert response.get_json()["errors"][0]["loc"] == [field]
    assert api.get(f"/operators/{operator}/buckets").get_json() == {"buckets": []}


@pytest.mark.both_databases
def test_nul_in_the_login_email_is_refused_with_a_message(
    client: FlaskClient, factory: Factory
) -> None:
    factory.operator()
    response = client.post(
        "/login", data={"email": "op@acme.example\x00", "password": "correct horse battery"}
    )
    assert response.status_code == 422
    assert "NUL" in response.get_data(as_text=True)


def test_nul_in_any_form_field_is_refused_before_the_view(
    client: FlaskClient, factory: Factory, auth: Auth
) -> None:
    operator = factory.operator()
    factory.provider()
    auth.login("admin@provider.example")
    response = client.post(f"/provider/quotas/{operator}", data={"vms": "1\x00"})
    assert response.status_code == 422
    assert "&#39;vms&#39; must not contain a NUL character" in response.get_data(as_text=True)


@pytest.mark.parametrize("text", ["99999999999999999999999", "1000000001", "²", "-1", "two"])
def test_quota_form_refuses_any_number_out_of_range_naming_the_limit(
    client: FlaskClient, factory: Factory, auth: Auth, text: str
) -> None:
    operator = factory.operator()
    factory.provider()
    auth.login("admin@provider.example")
    response = client.post(f"/provider/quotas/{operator}", data={"cores": text})
    assert response.status_code == 422
    assert "must be a whole number from 0 to 1000000000" in response.get_data(as_text=True)


def test_set_quota_command_refuses_a_huge_number_naming_the_limit(
    runner: Any, factory: Factory
) -> None:
    factory.operator()
    result = runner.invoke(
        args=["fedipanel", "set-quota", "--email", "op@acme.example", "--cores", "9" * 23]
    )
    assert result.exit_code == 2
    assert "0<=x<=1000000000" in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


@pytest.mark.parametrize(
    ("key", "value"),
    [("PROXMOX_TEMPLATE", "²"), ("VM_SSH_PORT", "²"), ("S3_QUOTA_GIB", "²")],
)
def test_provider_setting_with_a_non_ascii_digit_is_refused(key: str, value: str) -> None:
    module = garage if key.startswith("S3") else proxmox
    assert key in module.validate({key: value})


@pytest.mark.parametrize("size", ["100000000000000000000/8192/40", "4/99999999999/40", "4/8192/0"])
def test_absurd_machine_size_is_refused_on_the_settings_page_and_in_the_environment(
    size: str,
) -> None:
    assert sizes.validate({"SIZE_MASTODON": size})
    cores, memory, disk = size.split("/")
    override = {"mastodon": {"cores": cores, "memory_mib": memory, "disk_gib": disk}}
    with pytest.raises(ValueError, match="FEDIPANEL_SIZES"):
        sizes.sizes_from({}, override)


def test_machine_size_limit_is_named_in_the_message() -> None:
    message = sizes.validate({"SIZE_MASTODON": "2000/8192/40"})["SIZE_MASTODON"]
    assert "at most 1024 vCPUs" in message
