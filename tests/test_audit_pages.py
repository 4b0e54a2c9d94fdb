"""Reading the audit log: the provider's page and API, each operator's own page; never editing."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from flask.testing import FlaskClient

from fedipanel.audit import log
from fedipanel.audit.log import Action
from tests.helpers import Api, Auth, Factory


@pytest.fixture
def operators(app: Flask, factory: Factory) -> tuple[int, int]:
    """Two operators with entries of their own, and a provider."""
    acme = factory.operator("op@acme.example", slug="acme")
    shop = factory.operator("op@shop.example", slug="shop")
    provider = factory.provider()
    with app.app_context():
        log.record(
            Action.LOGIN,
            actor_id=acme,
            actor_email="op@acme.example",
            operator_id=acme,
            address="198.51.100.1",
        )
        log.record(
            Action.CONFIGURATION_SAVED,
            actor_id=acme,
            actor_email="op@acme.example",
            operator_id=acme,
            address="198.51.100.1",
            version=1,
        )
        log.record(
            Action.QUOTA_CHANGED,
            actor_id=provider,
            actor_email="admin@provider.example",
            operator_id=acme,
            address="203.0.113.9",
            vms=2,
        )
        log.record(
            Action.LOGIN,
            actor_id=shop,
            actor_email="op@shop.example",
            operator_id=shop,
            address="192.0.2.77",
        )
    return acme, shop


def _ids(page: str) -> list[str]:
    return re.findall(r'<tr data-action="([^"]+)"', page)


def test_provider_reads_every_entry_filtered_by_operator_and_action(
    client: FlaskClient, auth: Auth, operators: tuple[int, int]
) -> None:
    acme, _shop = operators
    auth.login("admin@provider.example")
    everything = client.get("/provider/audit").get_data(as_text=True)
    assert _ids(everything)[:4] == ["login", "login", "quota.changed", "configuration.saved"]
    assert "192.0.2.77" in everything
    assert "203.0.113.9" in everything

    only_acme = client.get(f"/provider/audit?operator={acme}").get_data(as_text=True)
    assert _ids(only_acme) == ["quota.changed", "configuration.saved", "login"]
    logins = client.get(f"/provider/audit?operator={acme}&action=login").get_data(as_text=True)
    assert _ids(logins) == ["login"]
    assert "198.51.100.1" in logins
    assert "192.0.2.77" not in logins


def test_provider_pages_through_the_log_newest_first(
    app: Flask, client: FlaskClient, auth: Auth, factory: Factory
) -> None:
    operator_id = factory.operator()
    factory.provider()
    with app.app_context():
        for version in range(1, 121):
            log.record(Action.CONFIGURATION_SAVED, operator_id=operator_id, version=version)
    auth.login("admin@provider.example")
    seen: list[str] = []
    path: str | None = f"/provider/audit?operator={operator_id}&action=configuration.saved"
    while path:
        page = client.get(path).get_data(as_text=True)
        seen += re.findall(r"version: (\d+)", page)
        older = re.search(r'id="older" href="([^"]+)"', page)
        path = older.group(1).replace("&amp;", "&") if older else None
    assert seen == [str(v) for v in range(120, 0, -1)]


@pytest.mark.parametrize(
    ("query", "field"),
    [("operator=acme", "operator"), ("action=drop.table", "action"), ("before=-1", "before")],
)
def test_a_bad_filter_is_named_not_a_500(
    client: FlaskClient, auth: Auth, operators: tuple[int, int], query: str, field: str
) -> None:
    auth.login("admin@provider.example")
    response = client.get(f"/provider/audit?{query}")
    assert response.status_code == 422
    assert re.search(rf'class="field-error"[^>]*>{field}: ', response.get_data(as_text=True))


def test_an_operator_reads_only_entries_about_their_own_account(
    client: FlaskClient, auth: Auth, operators: tuple[int, int]
) -> None:
    _acme, shop = operators
    auth.login("op@acme.example")
    # Another operator's id in the query changes nothing.
    page = client.get(f"/account/audit?operator={shop}").get_data(as_text=True)
    assert _ids(page)[1:] == ["quota.changed", "configuration.saved", "login"]
    assert "192.0.2.77" not in page
    assert "op@shop.example" not in page
    # The provider's administrators are not named to operators, nor their addresses shown.
    assert "your provider" in page
    assert "admin@provider.example" not in page
    assert "203.0.113.9" not in page
    assert "198.51.100.1" in page


def test_the_api_answers_pages_newest_first_with_a_link_to_the_next(
    app: Flask, client: FlaskClient, factory: Factory, operators: tuple[int, int]
) -> None:
    acme, _shop = operators
    provider = Api(client, factory.token(3))
    first = provider.get(f"/audit?operator={acme}&limit=2").get_json()
    assert [e["action"] for e in first["entries"]] == ["quota.changed", "configuration.saved"]
    assert first["entries"][0]["actor"] == {"id": 3, "email": "admin@provider.example"}
    assert first["entries"][0]["details"] == {"vms": 2}
    assert first["entries"][0]["address"] == "203.0.113.9"
    assert first["next"].startswith("/api/v1/audit?")
    second = client.get(first["next"], headers=provider.headers).get_json()
    assert [e["action"] for e in second["entries"]] == ["login"]
    assert second["next"] is None
    everything = provider.get("/audit").get_json()["entries"]
    assert [e["id"] for e in everything] == sorted((e["id"] for e in everything), reverse=True)
    logins = provider.get("/audit?action=login").get_json()["entries"]
    assert {e["operator"] for e in logins} == set(operators)


@pytest.mark.parametrize(
    ("query", "loc"),
    [
        ("action=drop.table", "action"),
        ("limit=0", "limit"),
        ("limit=1000", "limit"),
        ("operator=x", "operator"),
        ("before=1.5", "before"),
    ],
)
def test_the_api_refuses_bad_parameters_naming_them(
    client: FlaskClient, factory: Factory, query: str, loc: str
) -> None:
    provider = Api(client, factory.token(factory.provider()))
    response = provider.get(f"/audit?{query}")
    assert response.status_code == 422
    assert response.get_json()["errors"][0]["loc"] == [loc]


def test_nothing_in_the_panel_edits_or_deletes_audit_entries(app: Flask) -> None:
    readers = {"GET", "HEAD", "OPTIONS"}
    audit_rules = [rule for rule in app.url_map.iter_rules() if "audit" in rule.rule]
    assert {rule.rule for rule in audit_rules} == {
        "/provider/audit",
        "/account/audit",
        "/api/v1/audit",
    }
    for rule in audit_rules:
        assert set(rule.methods or ()) <= readers, rule.rule
