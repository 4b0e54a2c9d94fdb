"""The operator's directory: API and page input checks, isolation, the secret, NixOS values."""

from __future__ import annotations

import json
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from fedipanel.core.account_sync import Account, Change, DirectoryUser, sync_steps
from fedipanel.core.configuration import Configuration
from fedipanel.core.configurator import desired_state
from fedipanel.core.directory import Directory, mastodon_ldap_config, mastodon_ldap_env
from fedipanel.core.registry import DEFAULT_SIZES
from fedipanel.core.resources import OperatorFacts, ProviderSettings
from fedipanel.db import db
from fedipanel.identity.models import DirectorySettings, DirectorySync
from tests.helpers import Api, Auth, Factory, wait_for_jobs
from tests.test_nixos_options import KEY, REFERENCE, Checker

SECRET = "bind pass w0rd"
VALID: dict[str, Any] = {
    "url": "ldaps://ldap.acme.example",
    "bindDn": "cn=panel,ou=services,dc=acme,dc=example",
    "bindPassword": SECRET,
    "baseDn": "ou=people,dc=acme,dc=example",
    "userFilter": "(objectClass=inetOrgPerson)",
    "adminGroup": "cn=admins,ou=groups,dc=acme,dc=example",
}


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("url", "https://ldap.acme.example"),
        ("url", "ldaps://"),
        ("url", "ldaps://ldap.acme.example:99999"),
        ("url", "ldaps://user:pw@ldap.acme.example"),
        ("bindDn", "panel"),
        ("baseDn", ""),
        ("userFilter", "objectClass=person"),
        ("userFilter", "(&(uid=a)"),
        ("usernameAttribute", "u id"),
        ("adminGroup", "admins"),
        ("insecure", "yes"),
        ("url", 5),
        ("caCertificate", "not a certificate"),
        ("colour", "blue"),
    ],
)
def test_bad_values_are_refused_at_the_field_and_nothing_is_saved(
    operator_api: Api, app: Flask, field: str, value: Any
) -> None:
    response = operator_api.put("/identity", {**VALID, field: value})
    assert response.status_code == 422
    assert response.get_json()["errors"][0]["loc"] == [field]
    with app.app_context():
        assert db.session.scalar(select(DirectorySettings)) is None


def test_the_first_save_needs_the_bind_password(operator_api: Api) -> None:
    body = {k: v for k, v in VALID.items() if k != "bindPassword"}
    response = operator_api.put("/identity", body)
    assert response.status_code == 422
    assert response.get_json()["errors"][0]["loc"] == ["bindPassword"]


def test_the_bind_password_is_encrypted_and_never_returned(operator_api: Api, app: Flask) -> None:
    saved = operator_api.put("/identity", VALID)
    assert saved.status_code == 200
    got = operator_api.get("/identity")
    assert got.status_code == 200
    body = got.get_json()
    assert body["bindPasswordSet"] is True
    assert body["configured"] is True
    assert "bindPassword" not in body
    assert SECRET not in got.get_data(as_text=True) + saved.get_data(as_text=True)
    assert body["baseDn"] == VALID["baseDn"]
    assert "LDAP" in body["services"]["mastodon"]
    with app.app_context():
        row = db.session.scalar(select(DirectorySettings))
        assert row is not None
        assert SECRET not in row.bind_password_encrypted
    # Saving again without a password keeps the one saved.
    again = operator_api.put("/identity", {**VALID, "bindPassword": ""})
    assert again.status_code == 200
    assert again.get_json()["bindPasswordSet"] is True


def test_another_operator_sees_neither_the_directory_nor_its_syncs(
    operator_api: Api, client: FlaskClient, factory: Factory, app: Flask
) -> None:
    assert operator_api.put("/identity", VALID).status_code == 200
    started = operator_api.post("/identity/sync", {})
    assert started.status_code == 202
    sync_id = started.get_json()["id"]
    other = Api(client, factory.token(factory.operator("other@beta.example", slug="beta")))
    assert other.get("/identity").get_json()["configured"] is False
    assert other.get(f"/identity/syncs/{sync_id}").status_code == 404
    assert other.post("/identity/sync", {}).status_code == 409
    assert operator_api.get(f"/identity/syncs/{sync_id}").status_code == 200


def test_a_provider_token_cannot_use_the_operator_routes(
    client: FlaskClient, factory: Factory
) -> None:
    provider = Api(client, factory.token(factory.provider()))
    assert provider.get("/identity").status_code == 403


def test_the_identity_page_is_for_operators(
    client: FlaskClient, factory: Factory, auth: Auth
) -> None:
    factory.provider()
    auth.login("admin@provider.example")
    assert client.get("/identity").status_code == 403
    auth.logout()
    factory.operator("op@acme.example", slug="acme")
    auth.login("op@acme.example")
    page = client.get("/identity")
    assert page.status_code == 200
    assert b"Test connection" in page.data
    assert b"Sync now" in page.data


def test_the_page_marks_the_wrong_field_and_keeps_no_password(
    client: FlaskClient, factory: Factory, auth: Auth, app: Flask
) -> None:
    factory.operator("op@acme.example", slug="acme")
    auth.login("op@acme.example")
    form = {**VALID, "bindDn": "not a dn"}
    page = client.post("/identity", data=form)
    assert page.status_code == 422
    text = page.get_data(as_text=True)
    assert "must be a DN" in text
    assert SECRET not in text
    with app.app_context():
        assert db.session.scalar(select(DirectorySettings)) is None
    saved = client.post("/identity", data=VALID, follow_redirects=True)
    assert saved.status_code == 200
    assert "Directory saved" in saved.get_data(as_text=True)
    assert SECRET not in saved.get_data(as_text=True)


def test_a_sync_that_cannot_reach_the_directory_says_so_and_changes_nothing(
    operator_api: Api, app: Flask
) -> None:
    operator_api.put("/identity", {**VALID, "url": "ldaps://127.0.0.1:1"})
    started = operator_api.post("/identity/sync", {})
    wait_for_jobs(app)
    done = operator_api.get(f"/identity/syncs/{started.get_json()['id']}").get_json()
    assert done["status"] == "failed"
    assert done["errors"]
    assert done["errors"][0].startswith("directory:")
    assert done["changes"] == []
    with app.app_context():
        assert db.session.scalar(select(DirectorySync)) is not None


# --- Pure parts: Mastodon's settings and the account commands ---------------------------------

DIRECTORY = Directory(
    url="ldap://ldap.acme.example:389",
    bind_dn="cn=panel,dc=acme,dc=example",
    base_dn="ou=people,dc=acme,dc=example",
    admin_group="cn=admins,dc=acme,dc=example",
)


def _mastodon_nixos(directory: Directory | None) -> dict[str, Any]:
    config = Configuration.model_validate(
        {
            "domain": "acme.example",
            "admin": {"username": "alice", "email": "alice@acme.example"},
            "services": {"mastodon": {"enable": True}, "pixelfed": {"enable": True}},
        }
    )
    settings = ProviderSettings(sizes=DEFAULT_SIZES, acme_email="acme@provider.example")
    state = desired_state(config, OperatorFacts("acme", KEY, directory=directory), settings)
    return {name: m.nixos for name, m in state.machines.items()}


@pytest.fixture
def checker() -> Checker:
    return Checker(json.loads(REFERENCE.read_text()))


def test_mastodon_logs_in_against_the_directory_with_known_options(checker: Checker) -> None:
    machines = _mastodon_nixos(DIRECTORY)
    mastodon = machines["mastodon"]["services"]["mastodon"]
    extra = mastodon["extraConfig"]
    assert extra["LDAP_ENABLED"] == "true"
    assert extra["LDAP_METHOD"] == "start_tls"
    assert extra["LDAP_HOST"] == "ldap.acme.example"
    assert extra["LDAP_PORT"] == "389"
    assert "LDAP_PASSWORD" not in extra
    assert mastodon["extraEnvFiles"] == ["/var/lib/fedipanel/keys/mastodon-ldap.env"]
    assert "LDAP_ENABLED" not in str(machines["pixelfed"])
    for nixos in machines.values():
        errors, _ = checker.check(nixos)
        assert errors == []


@pytest.mark.parametrize(
    ("url", "insecure", "method"),
    [
        ("ldaps://h", False, "simple_tls"),
        ("ldap://h", False, "start_tls"),
        ("ldap://h", True, "plain"),
    ],
)
def test_mastodon_uses_tls_unless_told_otherwise(url: str, insecure: bool, method: str) -> None:
    directory = Directory(url, "cn=a,dc=b", "dc=b", insecure=insecure)
    assert mastodon_ldap_config(directory)["LDAP_METHOD"] == method


def test_the_password_file_escapes_quotes() -> None:
    assert mastodon_ldap_env('a"b\\c') == 'LDAP_PASSWORD="a\\"b\\\\c"\n'


def test_the_sync_creates_promotes_demotes_suspends_and_brings_back() -> None:
    users = [
        DirectoryUser("alice", "alice@acme.example", "Alice", admin=False),
        DirectoryUser("dave", "dave@acme.example", "Dave D", admin=True),
        DirectoryUser("erin", "erin@acme.example", "Erin", admin=False),
    ]
    known = {
        "alice": Account("alice", "alice@acme.example", admin=True, suspended=False),
        "carol": Account("carol", "carol@acme.example", admin=False, suspended=False),
        "erin": Account("erin", "erin@acme.example", admin=False, suspended=True),
        "gone": Account("gone", "gone@acme.example", admin=False, suspended=True),
    }
    steps = sync_steps("mastodon", users, known)
    assert [(s.username, s.change) for s in steps] == [
        ("alice", Change.DEMOTE),
        ("carol", Change.SUSPEND),
        ("dave", Change.CREATE),
        ("erin", Change.UNSUSPEND),
    ]
    assert [s.command for s in steps] == [
        "mastodon-tootctl accounts modify alice --remove-role",
        "mastodon-tootctl accounts modify carol --disable",
        "mastodon-tootctl accounts create dave --email dave@acme.example --confirmed --approve"
        " --role Admin",
        "mastodon-tootctl accounts modify erin --enable",
    ]
    pixelfed = {s.username: s.command for s in sync_steps("pixelfed", users, known)}
    assert pixelfed["alice"] == "yes | pixelfed-manage user:admin alice"
    assert pixelfed["carol"] == "yes | pixelfed-manage user:suspend carol"
    assert pixelfed["dave"].startswith(
        "pixelfed-manage user:create '--name=Dave D' --username=dave --email=dave@acme.example"
        " --is_admin=true --confirm_email=1 --password="
    )
