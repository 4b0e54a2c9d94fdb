"""A real deployment path, checked for real: pool VMs on loopback sshd, the fake nixops4, and
fake Mastodon and PeerTube endpoints over TLS signed by a CA the test makes.

The machine's side of the admin account is a stand-in `fedipanel-admin` (FEDIPANEL_ADMIN_COMMAND)
that records where and with what it ran; the fake services accept only the password the panel
delivered to the machine (the file in FEDIPANEL_KEYS_DIR).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from tests import test_pool_vms
from tests.fakes.fediverse import FakeFediverse, Fediverse
from tests.fakes.tls_ca import TestCa
from tests.helpers import FAKES, free_port, sample_config, wait_for_jobs
from tests.test_pool_vms import ADDRESSES, Pool

pytestmark = pytest.mark.external

# The pool's fixtures: two pre-deployed VMs on loopback sshd.
pool_vms = test_pool_vms.pool_vms
ssh_port = test_pool_vms.ssh_port

BOTH = {
    "mastodon": {"enable": True},
    "pixelfed": {"enable": False},
    "peertube": {"enable": True},
}
ADMIN_STUB = """#!/bin/sh
# Stand-in for fedipanel-admin: records on which machine it ran and for which service.
set -eu
set -- $SSH_CONNECTION "$@"
echo "$3 fedipanel-admin $5" >> {record}
echo "$5: alice is an administrator with the panel's password"
"""


@pytest.fixture
def health_port() -> int:
    return free_port()


@pytest.fixture
def ca(tmp_path: Path) -> TestCa:
    return TestCa(tmp_path / "ca")


@pytest.fixture
def app_overrides(tmp_path: Path, ssh_port: int, health_port: int, ca: TestCa) -> dict[str, Any]:
    return {
        "VM_SSH_PORT": ssh_port,
        "KEYS_DIR": str(tmp_path / "keys"),
        "WIPE_COMMAND": str(tmp_path / "bin" / "fedipanel-wipe"),
        "ADMIN_COMMAND": str(tmp_path / "bin" / "fedipanel-admin"),
        "NIXOPS4": str(FAKES / "nixops4"),
        "HEALTH_PORT": health_port,
        "HEALTH_CA_BUNDLE": str(ca.bundle),
        "HEALTH_TIMEOUT": 0,
    }


def delivered(tmp_path: Path, service: str) -> str | None:
    """Return the admin password the panel delivered to the machine."""
    path = tmp_path / "keys" / f"{service}-admin-password"
    return path.read_text() if path.exists() else None


@pytest.fixture
def machine(pool_vms: Pool, tmp_path: Path) -> Iterator[Path]:
    """Put the fedipanel-admin stand-in on the machines; return its record."""
    record = tmp_path / "admin-ran"
    stub = tmp_path / "bin" / "fedipanel-admin"
    stub.write_text(ADMIN_STUB.replace("{record}", str(record)))
    stub.chmod(0o755)
    return record


def fake_services(
    tmp_path: Path, ca: TestCa, port: int, *, password: str | None = None, names: tuple = ()
) -> FakeFediverse:
    state = Fediverse(
        domain="acme.example",
        username="alice",
        email="alice@acme.example",
        password_for=lambda service: password or delivered(tmp_path, service),
    )
    hosts = names or tuple(f"{s}.acme.example" for s in ("mastodon", "pixelfed", "peertube"))
    return FakeFediverse(state, ca.issue(*hosts), list(ADDRESSES), port)


HEALTH = {
    "mastodon": "https://mastodon.acme.example/api/v1/instance answers: "
    "Mastodon 4.3.2 (mastodon.acme.example)",
    "peertube": "https://peertube.acme.example/api/v1/config answers: PeerTube 7.0.1 (PeerTube)",
    "pixelfed": "https://pixelfed.acme.example/api/nodeinfo/2.0.json answers: pixelfed 0.12.4",
}
LOGIN = {
    "mastodon": "alice logged in through Mastodon's API",
    "peertube": "alice logged in through PeerTube's API as Administrator",
    "pixelfed": "alice logged in through Pixelfed's API",
}
LAST_CALL = {
    "mastodon": "/api/v1/accounts/verify_credentials",
    "peertube": "/api/v1/users/me",
    "pixelfed": "/api/v1/accounts/verify_credentials",
}


def only(service: str) -> dict[str, Any]:
    return {name: {"enable": name == service} for name in BOTH | {"pixelfed": {}}}


# One service at a time: both pool VMs are this machine, so they share one keys directory and
# each delivery removes the other machine's files.
@pytest.mark.parametrize("service", ["mastodon", "peertube", "pixelfed"])
def test_checks_pass_against_the_service_with_the_delivered_admin_password(
    app: Flask,
    pool_vms: Pool,
    machine: Path,
    tmp_path: Path,
    ca: TestCa,
    health_port: int,
    service: str,
) -> None:
    with fake_services(tmp_path, ca, health_port) as fake:
        result = pool_vms.deploy(app, only(service))
    assert result["status"] == "succeeded", result["error"]
    assert machine.read_text().splitlines() == [f"127.0.10.30 fedipanel-admin {service}"]
    password = delivered(tmp_path, service)
    assert password
    assert len(password) >= 32
    log = "\n".join(result["log"])
    assert password not in log
    assert HEALTH[service] in log
    assert LOGIN[service] in log
    # The checks went to the machine's own address with the service's name as Host.
    paths = [(seen.host, seen.path) for seen in fake.state.requests]
    assert paths[-1] == (f"{service}.acme.example", LAST_CALL[service])

    services = pool_vms.api.get("/services").get_json()
    assert [s["service"] for s in services] == [service]
    assert services[0]["url"] == f"https://{service}.acme.example/"
    assert services[0]["health"]["ok"] is True
    assert services[0]["health"]["detail"] == HEALTH[service]
    assert services[0]["health"]["checkedAt"]
    assert services[0]["admin"] == {"username": "alice", "login": "ok", "detail": LOGIN[service]}
    # The provider, logged in here, reads the deployment page with the same results.
    page = pool_vms.provider.get(f"/deployments/{result['id']}").get_data(as_text=True)
    assert f'data-service="{service}" data-health="ok" data-login="ok"' in page
    assert "alice logs in" in page


def test_a_wrong_admin_password_fails_the_deployment_with_the_services_answer(
    app: Flask,
    pool_vms: Pool,
    machine: Path,
    tmp_path: Path,
    ca: TestCa,
    health_port: int,
) -> None:
    with fake_services(tmp_path, ca, health_port, password="not-what-the-machine-got"):
        result = pool_vms.deploy(app, BOTH)
    assert result["status"] == "failed"
    assert "Mastodon refused the administrator's login: 400" in result["error"]
    assert '"error": "invalid_grant"' in result["error"]
    assert "PeerTube refused the administrator's login: 400" in result["error"]
    assert "Invalid grant: user credentials are invalid" in result["error"]
    services = pool_vms.api.get("/services").get_json()
    assert [s["admin"]["login"] for s in services] == ["failed", "failed"]
    assert all(s["health"]["ok"] is True for s in services)


def test_a_certificate_for_another_name_fails_with_a_clear_message(
    app: Flask,
    pool_vms: Pool,
    machine: Path,
    tmp_path: Path,
    ca: TestCa,
    health_port: int,
) -> None:
    with fake_services(tmp_path, ca, health_port, names=("other.example",)):
        result = pool_vms.deploy(app, BOTH)
    assert result["status"] == "failed"
    assert "the TLS certificate is not valid for mastodon.acme.example" in result["error"]
    services = pool_vms.api.get("/services").get_json()
    assert services[0]["health"]["ok"] is False
    assert services[0]["admin"]["login"] is None


def test_a_certificate_from_an_untrusted_ca_fails(
    app: Flask,
    pool_vms: Pool,
    machine: Path,
    tmp_path: Path,
    health_port: int,
) -> None:
    other = TestCa(tmp_path / "other-ca", name="Someone else's CA")
    with fake_services(tmp_path, other, health_port):
        result = pool_vms.deploy(app, BOTH)
    assert result["status"] == "failed"
    assert "certificate is not valid for peertube.acme.example" in result["error"]
    assert "unable to get local issuer certificate" in result["error"]


def test_an_unreachable_service_fails_with_a_clear_message(
    app: Flask,
    pool_vms: Pool,
    machine: Path,
) -> None:
    result = pool_vms.deploy(app, BOTH)  # nothing listens on the health port
    assert result["status"] == "failed"
    assert "https://mastodon.acme.example/api/v1/instance (at 127.0.10.30:" in result["error"]
    assert "cannot be reached" in result["error"]
    assert "gave up after 0 s" in result["error"]


def test_a_failing_admin_command_fails_the_deployment(
    app: Flask,
    pool_vms: Pool,
    machine: Path,
    tmp_path: Path,
) -> None:
    stub = tmp_path / "bin" / "fedipanel-admin"
    stub.write_text(
        '#!/bin/sh\necho "fedipanel-admin: fedipanel-admin-$1.service failed" >&2\nexit 1\n'
    )
    result = pool_vms.deploy(app, BOTH)
    assert result["status"] == "failed"
    assert "the administrator account on mastodon failed" in result["error"]
    assert "fedipanel-admin-mastodon.service failed" in result["error"]


def test_rotating_deploys_a_new_password_the_service_then_accepts(
    app: Flask,
    pool_vms: Pool,
    machine: Path,
    tmp_path: Path,
    ca: TestCa,
    health_port: int,
) -> None:
    with fake_services(tmp_path, ca, health_port):
        first = pool_vms.deploy(app, only("mastodon"))
        assert first["status"] == "succeeded", first["error"]
        old = delivered(tmp_path, "mastodon")
        pool_vms.api.put("/configuration", sample_config(services=only("mastodon")))
        response = pool_vms.api.post("/services/mastodon/admin-password/rotate", {})
        assert response.status_code == 202, response.get_json()
        wait_for_jobs(app)
        second = pool_vms.api.get(f"/deployments/{response.get_json()['deployment']}").get_json()
    assert second["status"] == "succeeded", second["error"]
    assert delivered(tmp_path, "mastodon") != old
    assert "update nixos mastodon" in second["log"]


DIRECTORY = {
    "url": "ldaps://ldap.acme.example",
    "bindDn": "cn=panel,dc=acme,dc=example",
    "bindPassword": "bind-secret-Zq81",
    "baseDn": "ou=people,dc=acme,dc=example",
    "userFilter": "(objectClass=inetOrgPerson)",
    "adminGroup": "cn=admins,ou=groups,dc=acme,dc=example",
}


def test_peertube_gets_its_ldap_plugin_once_and_the_bind_password_stays_out_of_the_log(
    app: Flask,
    pool_vms: Pool,
    machine: Path,
    tmp_path: Path,
    ca: TestCa,
    health_port: int,
) -> None:
    assert pool_vms.api.put("/identity", DIRECTORY).status_code == 200
    with fake_services(tmp_path, ca, health_port) as fake:
        first = pool_vms.deploy(app, only("peertube"))
        assert first["status"] == "succeeded", first["error"]
        settings = fake.state.plugins["peertube-plugin-auth-ldap"]["settings"]
        puts = [s for s in fake.state.requests if s.method == "PUT"]
        second = pool_vms.deploy(app, only("peertube"))
    assert settings["url"] == "ldaps://ldap.acme.example"
    assert settings["bind-dn"] == "cn=panel,dc=acme,dc=example"
    assert settings["bind-credentials"] == "bind-secret-Zq81"
    assert settings["search-base"] == "ou=people,dc=acme,dc=example"
    assert settings["search-filter"] == (
        "(&(objectClass=inetOrgPerson)(|(uid={{username}})(mail={{username}})))"
    )
    assert settings["username-property"] == "uid"
    assert settings["insecure-tls"] is False
    assert settings["group-base"] == ""
    assert [p.path for p in puts] == ["/api/v1/plugins/peertube-plugin-auth-ldap/settings"]
    log = "\n".join(first["log"])
    assert "PeerTube: installed peertube-plugin-auth-ldap; set the settings of" in log
    assert "bind-secret-Zq81" not in log
    assert "bind-secret-Zq81" not in json.dumps(first)
    # The second run finds the plugin as it left it and changes nothing.
    assert second["status"] == "succeeded", second["error"]
    assert "PeerTube: peertube-plugin-auth-ldap unchanged" in second["log"]
    assert [s.method for s in fake.state.requests].count("PUT") == 1


def test_peertube_is_not_wired_to_a_directory_it_would_reach_in_clear(
    app: Flask,
    pool_vms: Pool,
    machine: Path,
    tmp_path: Path,
    ca: TestCa,
    health_port: int,
) -> None:
    body = {**DIRECTORY, "url": "ldap://ldap.acme.example"}
    assert pool_vms.api.put("/identity", body).status_code == 200
    with fake_services(tmp_path, ca, health_port) as fake:
        result = pool_vms.deploy(app, only("peertube"))
    assert result["status"] == "succeeded", result["error"]
    assert any("cannot use StartTLS" in line for line in result["log"])
    assert fake.state.plugins == {}
