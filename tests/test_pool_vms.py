"""The pool of pre-deployed VMs: handed out, kept, wiped over SSH before anyone else gets them,
set aside when the wipe fails, and given back when a deployment fails before using them.

The pool's VMs are this machine: a real sshd per VM on a loopback address, accepting the
operator's deploy key. The wipe command is a stand-in script under the test's temporary
directory (FEDIPANEL_WIPE_COMMAND) that records where it ran.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from fedipanel.audit.models import AuditEntry
from fedipanel.db import db
from fedipanel.keys.deploy_keys import deploy_key
from fedipanel.machines.models import PooledVm
from fedipanel.resources.models import RecordedResource
from tests.fakes.proxmox import start_sshd
from tests.helpers import (
    Api,
    Auth,
    Factory,
    free_port,
    require,
    require_program,
    sample_config,
    wait_for_jobs,
)

# Starts programs of its own (sshd, nix, nixops4's fake): not in `make test-fast`.
pytestmark = pytest.mark.external

ADDRESSES = ("127.0.10.30", "127.0.10.31")
WIPE_OK = """#!/bin/sh
# Stand-in for fedipanel-wipe: records on which VM (server address) it ran.
set -eu
set -- $SSH_CONNECTION
echo "$3" >> {record}
echo "stopped mastodon-web.service"
echo "removed /var/lib/mastodon"
echo "removed /var/lib/postgresql"
echo "fedipanel-wipe: done"
"""
WIPE_FAILS = """#!/bin/sh
set -eu
set -- $SSH_CONNECTION
echo "$3" >> {record}
echo "removed /var/lib/mastodon"
echo "fedipanel-wipe: could not remove /var/lib/postgresql: Device or resource busy" >&2
exit 1
"""
ONLY = {
    "mastodon": {"enable": True},
    "pixelfed": {"enable": False},
    "peertube": {"enable": False},
}


@dataclass
class Pool:
    """Two pre-deployed VMs and the wipe stand-in's record of where it ran."""

    api: Api
    provider: FlaskClient
    record: Path
    script: Path

    def wipe_with(self, text: str) -> None:
        self.script.write_text(text.format(record=self.record))
        self.script.chmod(0o755)

    def wiped(self) -> list[str]:
        return self.record.read_text().split() if self.record.exists() else []

    def deploy(self, app: Flask, services: dict[str, Any]) -> dict[str, Any]:
        self.api.put("/configuration", sample_config(services=services))
        response = self.api.post("/deployments", {"confirm": "acme.example"})
        assert response.status_code == 202, response.get_json()
        wait_for_jobs(app)
        return dict(self.api.get(f"/deployments/{response.get_json()['id']}").get_json())


@pytest.fixture
def ssh_port() -> int:
    return free_port()


@pytest.fixture
def app_overrides(tmp_path: Path, ssh_port: int) -> dict[str, Any]:
    return {
        "VM_SSH_PORT": ssh_port,
        "KEYS_DIR": str(tmp_path / "keys"),
        "WIPE_COMMAND": str(tmp_path / "bin" / "fedipanel-wipe"),
    }


@pytest.fixture
def pool_vms(
    app: Flask,
    client: FlaskClient,
    auth: Auth,
    factory: Factory,
    tmp_path: Path,
    ssh_port: int,
) -> Iterator[Pool]:
    """Two pool VMs (sshd as root on 127.0.10.30 and .31) for operator op@acme.example."""
    sshd = require_program("sshd")
    require_program("ssh")
    require(os.geteuid() == 0, "sshd must run as root to log in as root")
    operator_id = factory.operator("op@acme.example", slug="acme")
    factory.provider()
    auth.login("admin@provider.example")
    with app.app_context():
        public_key = deploy_key(operator_id).public_key
    processes: list[subprocess.Popen[bytes]] = []
    try:
        for address in ADDRESSES:
            process, host_key = start_sshd(
                sshd, tmp_path / f"vm-{address}", address, ssh_port, public_key
            )
            processes.append(process)
            added = client.post(
                "/provider/vm-pool", data={"address": address, "host_key": host_key}
            )
            assert added.status_code == 302
        (tmp_path / "bin").mkdir()
        pool = Pool(
            Api(client, factory.token(operator_id)),
            client,
            tmp_path / "wiped-on",
            tmp_path / "bin" / "fedipanel-wipe",
        )
        pool.wipe_with(WIPE_OK)
        yield pool
    finally:
        for process in processes:
            process.terminate()
            process.wait(5)


def _entry(app: Flask, address: str) -> PooledVm:
    with app.app_context():
        row = db.session.scalar(select(PooledVm).where(PooledVm.address == address))
        assert row is not None
        db.session.expunge(row)
        return row


def _machines(app: Flask) -> set[str]:
    with app.app_context():
        return set(
            db.session.scalars(
                select(RecordedResource.name).where(RecordedResource.kind == "machine")
            )
        )


def _audited(app: Flask, action: str) -> list[dict[str, Any]]:
    with app.app_context():
        rows = db.session.scalars(select(AuditEntry).where(AuditEntry.action == action))
        return [dict(row.details) for row in rows]


def test_pool_vms_are_assigned_wiped_before_they_return_and_one_in_use_cannot_be_removed(
    app: Flask, pool_vms: Pool
) -> None:
    first = pool_vms.deploy(app, ONLY)
    assert first["status"] == "succeeded", first["error"]
    assert "virtual machines" not in first["simulated"]
    assert "VM mastodon: pre-deployed VM 127.0.10.30 assigned" in first["log"]
    entry = _entry(app, "127.0.10.30")
    pool_vms.provider.post(f"/provider/vm-pool/{entry.id}/delete", data={"confirm": "yes"})
    page = pool_vms.provider.get("/provider/vm-pool").get_data(as_text=True)
    assert "is in use by machine mastodon" in page

    swapped = {
        **ONLY,
        "mastodon": {"enable": False, "keepData": False},
        "pixelfed": {"enable": True},
    }
    plan = pool_vms.api.post("/plan").get_json()  # before saving: nothing to delete yet
    assert plan["services"] == []
    pool_vms.api.put("/configuration", sample_config(services=swapped))
    plan = pool_vms.api.post("/plan").get_json()
    machine = next(c for c in plan["changes"] if c["kind"] == "machine" and c["name"] == "mastodon")
    assert (machine["action"], machine["data"]) == ("delete", "delete")
    assert machine["note"] == (
        "its pre-deployed VM is wiped (database and files deleted) and returned"
    )
    second = pool_vms.deploy(app, swapped)
    assert second["status"] == "succeeded", second["error"]
    assert "VM pixelfed: pre-deployed VM 127.0.10.31 assigned" in second["log"]
    assert "VM mastodon: removed /var/lib/mastodon, /var/lib/postgresql" in second["log"]
    assert "VM mastodon: 127.0.10.30 wiped and returned to the pool" in second["log"]
    assert pool_vms.wiped() == ["127.0.10.30"]  # on that VM, once, and not on pixelfed's
    entry = _entry(app, "127.0.10.30")
    assert (entry.operator_id, entry.machine, entry.attention) == (None, None, None)
    assert entry.wiped_at is not None
    assert _machines(app) == {"pixelfed"}
    assert _audited(app, "pool_vm.wiped")[0]["vm"] == "127.0.10.30"
    page = pool_vms.provider.get("/provider/vm-pool").get_data(as_text=True)
    assert "free (wiped " in page

    pool_vms.provider.post(f"/provider/vm-pool/{entry.id}/delete", data={"confirm": "yes"})
    page = pool_vms.provider.get("/provider/vm-pool").get_data(as_text=True)
    assert "127.0.10.30" not in page
    assert "127.0.10.31" in page


def test_a_vm_whose_wipe_fails_is_set_aside_until_the_provider_clears_it(
    app: Flask, pool_vms: Pool
) -> None:
    assert pool_vms.deploy(app, ONLY)["status"] == "succeeded"
    pool_vms.wipe_with(WIPE_FAILS)
    removed = pool_vms.deploy(app, {**ONLY, "mastodon": {"enable": False, "keepData": False}})
    assert removed["status"] == "succeeded", removed["error"]
    reason = (
        "fedipanel-wipe failed on 127.0.10.30 (exit status 1): fedipanel-wipe: could not remove "
        "/var/lib/postgresql: Device or resource busy"
    )
    assert (
        f"machine mastodon: wiping VM 127.0.10.30 failed ({reason}); it is set aside until "
        "your provider has checked it" in removed["log"]
    )
    assert pool_vms.wiped() == ["127.0.10.30"]
    entry = _entry(app, "127.0.10.30")
    assert (entry.operator_id, entry.attention) == (None, reason)
    assert _machines(app) == set()
    assert _audited(app, "pool_vm.needs_attention")[0]["reason"] == reason
    page = pool_vms.provider.get("/provider/vm-pool").get_data(as_text=True)
    assert '<tr class="attention" data-address="127.0.10.30">' in page
    assert "needs attention</strong> since" in page
    assert "Device or resource busy" in page

    # Never handed out meanwhile: the next machine gets the other VM, then there is none.
    pool_vms.wipe_with(WIPE_OK)
    both = {**ONLY, "pixelfed": {"enable": True}}
    refused = pool_vms.deploy(app, both)
    assert refused["status"] == "failed"
    assert "no free pre-deployed VM left for machine pixelfed" in refused["error"]
    assert _entry(app, "127.0.10.30").operator_id is None

    cleared = pool_vms.provider.post(f"/provider/vm-pool/{entry.id}/clear")
    assert cleared.status_code == 302
    assert _audited(app, "pool_vm.cleared") == [{"vm": "127.0.10.30", "reason": reason}]
    page = pool_vms.provider.get("/provider/vm-pool").get_data(as_text=True)
    assert '<tr data-address="127.0.10.30">' in page
    assert "needs attention</strong> since" not in page
    again = pool_vms.deploy(app, both)
    assert again["status"] == "succeeded", again["error"]
    assert {_entry(app, a).machine for a in ADDRESSES} == {"mastodon", "pixelfed"}


def test_a_failed_deployment_returns_the_pool_vms_it_took_but_never_used(
    app: Flask, pool_vms: Pool
) -> None:
    unreachable = f"http://127.0.0.1:{free_port()}"
    app.config.update(
        S3_ENDPOINT=unreachable, GARAGE_ADMIN_URL=unreachable, GARAGE_ADMIN_TOKEN="token"
    )
    failed = pool_vms.deploy(app, ONLY)
    assert failed["status"] == "failed"
    assert "S3 storage" in failed["error"]
    assert "VM mastodon: pre-deployed VM 127.0.10.30 assigned" in failed["log"]
    assert "VM mastodon: 127.0.10.30 returned to the pool unused" in failed["log"]
    assert _entry(app, "127.0.10.30").operator_id is None
    assert _machines(app) == set()
    assert pool_vms.wiped() == []  # nothing was put on it: nothing to wipe
    page = pool_vms.provider.get("/provider/vm-pool").get_data(as_text=True)
    assert "used by" not in page


def test_a_vm_a_failed_deployment_already_used_stays_with_the_operator(
    app: Flask, pool_vms: Pool, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.helpers import FAKES

    app.config.update(NIXOPS4=str(FAKES / "nixops4"))
    monkeypatch.setenv("FAKE_NIXOPS4_MODE", "failure")
    failed = pool_vms.deploy(app, ONLY)
    assert failed["status"] == "failed"
    assert failed["error"] == "activation of mastodon failed"
    assert "returned to the pool" not in "\n".join(failed["log"])
    # Its secrets are on it: it stays the operator's, recorded, until the service is removed.
    assert _entry(app, "127.0.10.30").machine == "mastodon"
    assert _machines(app) == {"mastodon"}


def test_keeping_a_pool_machine_leaves_its_vm_with_the_operator_unwiped(
    app: Flask, pool_vms: Pool
) -> None:
    assert pool_vms.deploy(app, ONLY)["status"] == "succeeded"
    kept = pool_vms.deploy(app, {**ONLY, "mastodon": {"enable": False}})
    assert kept["status"] == "succeeded", kept["error"]
    line = "machine mastodon: pre-deployed VM 127.0.10.30 stays yours, disk and database kept"
    assert line in kept["log"]
    assert pool_vms.wiped() == []
    assert _entry(app, "127.0.10.30").machine == "mastodon"
    again = pool_vms.deploy(app, ONLY)
    assert again["status"] == "succeeded", again["error"]
    assert "VM mastodon: pre-deployed VM 127.0.10.30 in use again" in again["log"]
    assert pool_vms.wiped() == []


def test_an_account_deletion_whose_wipe_fails_waits_for_the_provider(
    app: Flask, pool_vms: Pool, factory: Factory
) -> None:
    assert pool_vms.deploy(app, ONLY)["status"] == "succeeded"
    pool_vms.wipe_with(WIPE_FAILS)
    provider = Api(pool_vms.provider, factory.token(2))
    first = pool_vms.provider.delete("/api/v1/operators/1", headers=provider.headers)
    assert first.status_code == 202, first.get_json()
    wait_for_jobs(app)
    failed = provider.get(f"/deletions/{first.get_json()['id']}").get_json()
    assert failed["status"] == "failed"
    assert [item for item in failed["leftovers"] if "127.0.10.30, set aside" in item], failed

    entry = _entry(app, "127.0.10.30")
    assert pool_vms.provider.post(f"/provider/vm-pool/{entry.id}/clear").status_code == 302
    again = pool_vms.provider.delete("/api/v1/operators/1", headers=provider.headers)
    wait_for_jobs(app)
    done = provider.get(f"/deletions/{again.get_json()['id']}").get_json()
    assert (done["status"], done["leftovers"]) == ("succeeded", []), done


def test_real_nixops4_gets_the_pool_vms_with_their_host_keys_and_the_deployment_json(
    app: Flask, pool_vms: Pool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import json

    from tests.helpers import FAKES

    app.config.update(NIXOPS4=str(FAKES / "nixops4"))
    record = tmp_path / "nixops4-record.json"
    monkeypatch.setenv("FAKE_NIXOPS4_RECORD", str(record))
    deployment = pool_vms.deploy(app, sample_config()["services"])
    # The pool VMs here have no services to create administrators in (test_service_checks
    # does that): what counts is what nixops4 was handed.
    assert "Deployment acme applied" in deployment["log"], deployment["error"]
    assert "nixops4" not in deployment["simulated"]

    received = json.loads(record.read_text())
    assert received["argv"] == ["apply", "--no-interactive", "acme"]
    assert received["file_mode"] == "0o600"
    assert received["environment"] == ["FEDIPANEL_DEPLOYMENT_FILE"]
    document = received["document"]
    assert document["format"] == "fedipanel.deployment/1"
    assert document["deployment"] == "acme"
    assert document["generation"] == 1
    assert set(document["machines"]) == {"mastodon", "peertube"}
    mastodon = document["machines"]["mastodon"]
    assert mastodon["nixos"]["services"]["mastodon"]["localDomain"] == "mastodon.acme.example"
    hosts = {m["ssh"]["host"] for m in document["machines"].values()}
    assert hosts == set(ADDRESSES)
    assert all(m["ssh"]["hostPublicKey"] for m in document["machines"].values())
