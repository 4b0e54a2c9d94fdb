"""The directory sync on PeerTube: a real slapd and a fake PeerTube over TLS.

PeerTube's LDAP plugin makes an account at a user's first login (`Fediverse.ldap_login` plays
that part); the sync then gives or takes the Administrator role and blocks or unblocks those
accounts through the admin API, with the administrator's token and password from the panel.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from fedipanel.core.resources import Resource
from fedipanel.db import db
from fedipanel.resources.records import record
from fedipanel.services.passwords import ensure_password
from tests.fakes.fediverse import FakeFediverse, Fediverse
from tests.fakes.tls_ca import TestCa
from tests.helpers import Api, Factory, free_port, sample_config, wait_for_jobs
from tests.plugins.ldap import ADMINS, BIND_DN, BIND_PASSWORD, PEOPLE, Slapd

OWNER = {"username": "owner", "email": "owner@acme.example"}
PEERTUBE_ONLY = {
    "mastodon": {"enable": False},
    "pixelfed": {"enable": False},
    "peertube": {"enable": True},
}


@pytest.fixture
def health_port() -> int:
    return free_port()


@pytest.fixture
def ca(tmp_path: Path) -> TestCa:
    return TestCa(tmp_path / "ca")


@pytest.fixture
def app_overrides(health_port: int, ca: TestCa) -> dict[str, Any]:
    return {"HEALTH_PORT": health_port, "HEALTH_CA_BUNDLE": str(ca.bundle)}


@pytest.fixture
def peertube(
    app: Flask, client: FlaskClient, factory: Factory, ca: TestCa, health_port: int, slapd: Slapd
) -> Iterator[tuple[Api, Fediverse]]:
    """Operator op@acme.example with PeerTube deployed on 127.0.0.1 and its directory saved."""
    operator_id = factory.operator("op@acme.example", slug="acme")
    api = Api(client, factory.token(operator_id))
    assert api.put("/configuration", sample_config(admin=OWNER, services=PEERTUBE_ONLY))
    body = {
        "url": slapd.ldaps_url,
        "bindDn": BIND_DN,
        "bindPassword": BIND_PASSWORD,
        "baseDn": PEOPLE,
        "adminGroup": ADMINS,
        "caCertificate": slapd.ca_pem,
    }
    assert api.put("/identity", body).status_code == 200
    with app.app_context():
        password = ensure_password(operator_id, "peertube")
        resource = Resource("machine", "peertube", {"service": "peertube"})
        record(operator_id, None, resource, {"address": "127.0.0.1"}, simulated=False)
        db.session.commit()
    state = Fediverse(
        domain="acme.example",
        username=OWNER["username"],
        email=OWNER["email"],
        password_for=lambda service: password if service == "peertube" else None,
    )
    with FakeFediverse(state, ca.issue("peertube.acme.example"), ["127.0.0.1"], health_port):
        yield api, state


def sync(api: Api, app: Flask) -> dict[str, Any]:
    started = api.post("/identity/sync", {})
    assert started.status_code == 202
    wait_for_jobs(app)
    return dict(api.get(f"/identity/syncs/{started.get_json()['id']}").get_json())


def roles(state: Fediverse) -> dict[str, tuple[int, bool]]:
    return {u["username"]: (u["role"]["id"], u["blocked"]) for u in state.peertube_users}


def test_the_sync_gives_roles_and_blocks_peertube_accounts_as_the_directory_says(
    app: Flask, peertube: tuple[Api, Fediverse], slapd: Slapd
) -> None:
    api, state = peertube
    first = sync(api, app)
    assert first["status"] == "succeeded", first
    assert first["simulated"] is False
    # Nobody logged in through LDAP yet: the plugin makes accounts, the sync never does.
    assert first["changes"] == ["peertube: nothing to change"]

    for name in ("alice", "bob", "carol", "zed"):
        state.ldap_login(name)
    second = sync(api, app)
    assert second["status"] == "succeeded", second
    assert second["changes"] == ["peertube: promote alice", "peertube: suspend zed"]
    assert roles(state) == {
        "root": (0, False),
        "owner": (0, False),  # the operator's own administrator is a local account: untouched
        "alice": (0, False),
        "bob": (2, False),
        "carol": (2, False),
        "zed": (2, True),
    }
    assert sync(api, app)["changes"] == ["peertube: nothing to change"]

    slapd.set_admin("alice", admin=False)
    slapd.set_admin("bob", admin=True)
    slapd.delete_user("carol")
    third = sync(api, app)
    assert third["changes"] == [
        "peertube: demote alice",
        "peertube: promote bob",
        "peertube: suspend carol",
    ]
    assert roles(state)["alice"] == (2, False)
    assert roles(state)["bob"] == (0, False)
    assert roles(state)["carol"] == (2, True)

    slapd.add_user("carol", "Carol Cook")
    fourth = sync(api, app)
    assert fourth["changes"] == ["peertube: unsuspend carol"]
    assert roles(state)["carol"] == (2, False)


def test_a_refused_admin_login_is_reported_on_the_sync(
    app: Flask, peertube: tuple[Api, Fediverse]
) -> None:
    api, state = peertube
    state.password_for = lambda service: "not-the-panels-password"
    done = sync(api, app)
    assert done["status"] == "failed"
    assert len(done["errors"]) == 1
    assert done["errors"][0].startswith("peertube: PeerTube refused the administrator's login: 400")
    assert "Invalid grant: user credentials are invalid" in done["errors"][0]
    assert not any(s.method == "PUT" for s in state.requests)
