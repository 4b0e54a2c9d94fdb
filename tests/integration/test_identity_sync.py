"""The directory sync against a real slapd, acting on machines through a real OpenSSH server.

The machines are this host: sshd on loopback accepting the operator's deploy key. The services'
tools (`mastodon-tootctl`, `pixelfed-manage`) are small scripts in a temporary directory that
ACCOUNT_TOOLS_PATH puts first on PATH; each records the command line it was given.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from fedipanel.accounts.users import find_user
from fedipanel.core.resources import Resource
from fedipanel.db import db
from fedipanel.keys.deploy_keys import deploy_key
from fedipanel.resources.records import record
from tests.fakes.proxmox import start_sshd
from tests.helpers import Api, Factory, free_port, require, require_program, wait_for_jobs
from tests.plugins.ldap import ADMINS, BIND_DN, BIND_PASSWORD, PEOPLE, Slapd

TOOL = """#!/bin/sh
echo "$(basename "$0") $*" >> {log}
{fail}
"""


@pytest.fixture
def ssh_port() -> int:
    return free_port()


@pytest.fixture
def app_overrides(tmp_path: Path, ssh_port: int) -> dict[str, Any]:
    return {"VM_SSH_PORT": ssh_port, "ACCOUNT_TOOLS_PATH": str(tmp_path / "tools")}


def directory_body(slapd: Slapd, **overrides: Any) -> dict[str, Any]:
    return {
        "url": slapd.ldaps_url,
        "bindDn": BIND_DN,
        "bindPassword": BIND_PASSWORD,
        "baseDn": PEOPLE,
        "userFilter": "(objectClass=inetOrgPerson)",
        "adminGroup": ADMINS,
        "caCertificate": slapd.ca_pem,
        **overrides,
    }


def write_tools(tools: Path, failing: str = "") -> Path:
    tools.mkdir(exist_ok=True)
    log = tools / "calls.log"
    for name in ("mastodon-tootctl", "pixelfed-manage"):
        fail = 'echo "no such user" >&2; exit 1' if name == failing else ""
        path = tools / name
        path.write_text(TOOL.format(log=log, fail=fail))
        path.chmod(0o755)
    return log


@pytest.fixture
def machines(
    app: Flask, factory: Factory, tmp_path: Path, ssh_port: int
) -> Iterator[tuple[int, Path]]:
    """Operator op@acme.example with Mastodon and Pixelfed deployed on a reachable machine."""
    sshd = require_program("sshd")
    require_program("ssh")
    require(os.geteuid() == 0, "sshd must run as root to log in as root")
    operator_id = factory.operator("op@acme.example", slug="acme")
    with app.app_context():
        public_key = deploy_key(operator_id).public_key
    process, host_key = start_sshd(sshd, tmp_path / "vm", "127.0.0.1", ssh_port, public_key)
    try:
        with app.app_context():
            for service in ("mastodon", "pixelfed"):
                resource = Resource("machine", service, {"service": service})
                facts = {"via": "pool", "address": "127.0.0.1", "host_key": host_key}
                record(operator_id, None, resource, facts, simulated=False)
            db.session.commit()
        yield operator_id, write_tools(tmp_path / "tools")
    finally:
        process.terminate()
        process.wait(5)


def sync(api: Api, app: Flask) -> dict[str, Any]:
    started = api.post("/identity/sync", {})
    assert started.status_code == 202
    wait_for_jobs(app)
    return dict(api.get(f"/identity/syncs/{started.get_json()['id']}").get_json())


def calls(log: Path) -> list[str]:
    lines = log.read_text().splitlines() if log.exists() else []
    log.write_text("")
    return lines


def test_test_connection_counts_users_and_admins(operator_api: Api, slapd: Slapd) -> None:
    for url in (slapd.ldaps_url, slapd.ldap_url):
        found = operator_api.post("/identity/test", directory_body(slapd, url=url)).get_json()
        assert found == {
            "ok": True,
            "message": "Connected: 3 users, 1 admins.",
            "users": 3,
            "admins": 1,
        }


@pytest.mark.parametrize(
    ("overrides", "loc", "words"),
    [
        ({"bindPassword": "wrong"}, "bindPassword", "bad credentials"),
        ({"caCertificate": ""}, "url", "TLS failed"),
        ({"baseDn": "ou=nobody,dc=acme,dc=example"}, "baseDn", "does not exist"),
        ({"userFilter": "(uid=zed)"}, "userFilter", "matches nobody"),
        ({"adminGroup": "cn=nope,ou=groups,dc=acme,dc=example"}, "adminGroup", "does not exist"),
        ({"url": "ldaps://127.0.0.1:1"}, "url", "unreachable"),
    ],
)
def test_test_connection_says_what_is_wrong(
    operator_api: Api, slapd: Slapd, overrides: dict[str, Any], loc: str, words: str
) -> None:
    found = operator_api.post("/identity/test", directory_body(slapd, **overrides)).get_json()
    assert found["ok"] is False
    assert found["loc"] == [loc]
    assert words in found["message"]
    assert BIND_PASSWORD not in found["message"]


def test_the_sync_follows_the_directory_on_every_service(
    app: Flask, client: FlaskClient, factory: Factory, slapd: Slapd, machines: tuple[int, Path]
) -> None:
    operator_id, log = machines
    api = Api(client, factory.token(operator_id))
    assert api.put("/identity", directory_body(slapd)).status_code == 200

    first = sync(api, app)
    assert first["status"] == "succeeded", first
    assert first["simulated"] is False
    ran = calls(log)
    assert ran[:3] == [
        "mastodon-tootctl accounts create alice --email alice@acme.example --confirmed --approve"
        " --role Admin",
        "mastodon-tootctl accounts create bob --email bob@acme.example --confirmed --approve",
        "mastodon-tootctl accounts create carol --email carol@acme.example --confirmed --approve",
    ]
    created = "pixelfed-manage user:create --name=Alice Admin --username=alice"
    assert ran[3].startswith(f"{created} --email=alice@acme.example --is_admin=true")
    assert ["--username=bob" in ran[4], "--username=carol" in ran[5]] == [True, True]
    # Each Pixelfed account gets a password made on the machine, never the same twice.
    passwords = {line.rsplit("--password=", 1)[1] for line in ran[3:]}
    assert len(passwords) == 3
    assert "" not in passwords
    assert "mastodon: create alice" in first["changes"]

    second = sync(api, app)
    assert second["changes"] == ["mastodon: nothing to change", "pixelfed: nothing to change"]
    assert calls(log) == []

    slapd.add_user("dave", "Dave Diver")
    slapd.set_admin("alice", admin=False)
    slapd.delete_user("carol")
    third = sync(api, app)
    assert third["status"] == "succeeded", third
    ran = calls(log)
    assert ran[:5] == [
        "mastodon-tootctl accounts modify alice --remove-role",
        "mastodon-tootctl accounts modify carol --disable",
        "mastodon-tootctl accounts create dave --email dave@acme.example --confirmed --approve",
        "pixelfed-manage user:admin alice",
        "pixelfed-manage user:suspend carol",
    ]
    assert ran[5].startswith("pixelfed-manage user:create --name=Dave Diver --username=dave")
    assert third["changes"] == [
        "mastodon: demote alice",
        "mastodon: suspend carol",
        "mastodon: create dave",
        "pixelfed: demote alice",
        "pixelfed: suspend carol",
        "pixelfed: create dave",
    ]

    slapd.set_admin("bob", admin=True)
    slapd.add_user("carol", "Carol Cook")
    fourth = sync(api, app)
    assert fourth["changes"] == [
        "mastodon: promote bob",
        "mastodon: unsuspend carol",
        "pixelfed: promote bob",
        "pixelfed: unsuspend carol",
    ]
    assert calls(log) == [
        "mastodon-tootctl accounts modify bob --role Admin",
        "mastodon-tootctl accounts modify carol --enable",
        "pixelfed-manage user:admin bob",
        "pixelfed-manage user:unsuspend carol",
    ]


def test_a_failing_command_is_reported_and_tried_again(
    app: Flask, client: FlaskClient, factory: Factory, slapd: Slapd, machines: tuple[int, Path]
) -> None:
    operator_id, log = machines
    write_tools(log.parent, failing="pixelfed-manage")
    api = Api(client, factory.token(operator_id))
    api.put("/identity", directory_body(slapd))
    first = sync(api, app)
    assert first["status"] == "failed"
    assert first["errors"][0] == "pixelfed: create alice failed: no such user"
    assert len(first["errors"]) == 3
    calls(log)
    write_tools(log.parent)
    again = sync(api, app)
    assert again["status"] == "succeeded"
    assert again["changes"] == [
        "mastodon: nothing to change",
        "pixelfed: create alice",
        "pixelfed: create bob",
        "pixelfed: create carol",
    ]


def test_simulated_machines_get_nothing_and_the_sync_says_so(
    app: Flask, operator_api: Api, slapd: Slapd, tmp_path: Path
) -> None:
    with app.app_context():
        operator_id = deploy_key_owner()
        resource = Resource("machine", "mastodon", {"service": "mastodon"})
        record(operator_id, None, resource, {"address": "10.0.0.1"}, simulated=True)
    operator_api.put("/identity", directory_body(slapd))
    done = sync(operator_api, app)
    assert done["simulated"] is True
    assert done["changes"][0] == "[simulated] mastodon: create alice"
    assert not (tmp_path / "tools" / "calls.log").exists()
    again = sync(operator_api, app)
    assert again["changes"][0] == "[simulated] mastodon: create alice"  # nothing was recorded


def deploy_key_owner() -> int:
    user = find_user("op@acme.example")
    assert user is not None
    return user.id
