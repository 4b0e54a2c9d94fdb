"""Keeping a disabled service's VM on the fake Proxmox: shut down with its disk, started again
when the service returns (no clone), purged when its data is deleted.

The fake keeps each VM's disk as a directory; an SSH session on the VM (a real sshd) finds it in
`$FAKE_VM_DISK`, so a marker written over SSH stands for the service's database on the disk.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from fedipanel.accounts.users import find_user
from fedipanel.db import db
from fedipanel.keys.deploy_keys import deploy_key, private_key_pem
from fedipanel.machines.models import AddressLease
from fedipanel.providers import ssh_command
from fedipanel.resources.models import RecordedResource
from tests.fakes.proxmox import FakeProxmox
from tests.helpers import Api, sample_config, wait_for_jobs
from tests.plugins.proxmox import panel_settings

# Starts programs of its own (sshd, nix, nixops4's fake): not in `make test-fast`.
pytestmark = pytest.mark.external

KEEP_PEERTUBE = {
    "mastodon": {"enable": True},
    "pixelfed": {"enable": False},
    "peertube": {"enable": False},  # keepData defaults to true
}


@pytest.fixture
def app_overrides(fake_pve: FakeProxmox, tmp_path: Path) -> dict[str, Any]:
    return panel_settings(fake_pve, tmp_path / "keys", VM_SHUTDOWN_TIMEOUT=30)


def _deploy(app: Flask, api: Api, config: dict[str, Any]) -> dict[str, Any]:
    api.put("/configuration", config)
    response = api.post("/deployments", {"confirm": "acme.example"})
    assert response.status_code == 202, response.get_json()
    wait_for_jobs(app)
    return dict(api.get(f"/deployments/{response.get_json()['id']}").get_json())


def _facts(app: Flask, machine: str) -> dict[str, Any]:
    with app.app_context():
        row = db.session.scalar(
            select(RecordedResource).where(
                RecordedResource.kind == "machine", RecordedResource.name == machine
            )
        )
        assert row is not None
        return dict(row.facts) | {"spec": dict(row.spec)}


def _on_vm(app: Flask, fake: FakeProxmox, machine: str, command: str) -> ssh_command.Ran:
    """Run a command on the machine's VM as the panel would: root, deploy key, pinned host key."""
    facts = _facts(app, machine)
    with app.app_context():
        operator = find_user("op@acme.example")
        assert operator is not None
        pem = private_key_pem(deploy_key(operator.id))
    return ssh_command.run(
        facts["address"],
        command,
        private_key_pem=pem,
        host_public_key=facts["host_key"],
        port=fake.ssh_port,
    )


def test_a_kept_vm_is_shut_down_with_its_disk_and_started_again_without_a_clone(
    app: Flask, operator_api: Api, fake_pve: FakeProxmox
) -> None:
    first = _deploy(app, operator_api, sample_config())
    assert first["status"] == "succeeded", first["error"]
    peertube = _facts(app, "peertube")
    vmid = peertube["vmid"]
    wrote = _on_vm(app, fake_pve, "peertube", 'echo "videos and accounts" > "$FAKE_VM_DISK/db"')
    assert wrote.returncode == 0, wrote.stderr
    marker = fake_pve.disk_dir(vmid) / "db"
    assert marker.read_text() == "videos and accounts\n"

    operator_api.put("/configuration", sample_config(services=KEEP_PEERTUBE))
    plan = operator_api.post("/plan").get_json()
    machine = next(c for c in plan["changes"] if c["kind"] == "machine" and c["name"] == "peertube")
    assert (machine["action"], machine["data"]) == ("update", "keep")
    assert machine["note"] == "shut down, disk and database kept"
    assert machine["spec"]["kept"] is True
    services = {entry["service"]: entry for entry in plan["services"]}
    assert "machine peertube: shut down, disk and database kept" in services["peertube"]["kept"]
    assert plan["quota"]["final"] == {"vms": 2, "cores": 4, "memory_mib": 8192, "disk_gib": 100}
    assert "Kept machine peertube counts as 1 VM with its 60 GiB disk" in plan["quota"]["kept"]

    before = len(fake_pve.requests)
    kept = _deploy(app, operator_api, sample_config(services=KEEP_PEERTUBE))
    assert kept["status"] == "succeeded", kept["error"]
    changes = [(m, p.rsplit("/", 1)[-1], v) for m, p, v in fake_pve.requests[before:] if m != "GET"]
    assert [(m, tail) for m, tail, _ in changes] == [("POST", "config"), ("POST", "shutdown")]
    assert changes[0][2] == {"tags": "fedipanel;op-acme;m-peertube;kept"}
    assert changes[1][2] == {"timeout": "30"}
    vm = fake_pve.vms[vmid]
    assert vm.status == "stopped"
    assert vm.config["tags"] == "fedipanel;kept;m-peertube;op-acme"
    assert marker.read_text() == "videos and accounts\n"
    assert f"VM peertube ({vmid}): shut down, kept with its disk" in kept["log"]
    assert _facts(app, "peertube")["spec"]["kept"] is True
    with pytest.raises(ssh_command.SshError):  # it is off
        _on_vm(app, fake_pve, "peertube", "true")
    with app.app_context():  # its address stays its own, for when it comes back
        leases = {row.machine: row.address for row in db.session.scalars(select(AddressLease))}
    assert leases["peertube"] == peertube["address"]

    # Deploying again changes nothing: it stays shut down and kept.
    again = operator_api.post("/plan").get_json()
    machine = next(
        c for c in again["changes"] if c["kind"] == "machine" and c["name"] == "peertube"
    )
    assert machine["action"] == "keep"
    before = len(fake_pve.requests)
    assert _deploy(app, operator_api, sample_config(services=KEEP_PEERTUBE))["status"] == (
        "succeeded"
    )
    assert [m for m, _, _ in fake_pve.requests[before:] if m != "GET"] == []

    operator_api.put("/configuration", sample_config())
    plan = operator_api.post("/plan").get_json()
    machine = next(c for c in plan["changes"] if c["kind"] == "machine" and c["name"] == "peertube")
    assert (machine["action"], machine["note"]) == (
        "update",
        "started again with its disk and database",
    )
    back = _deploy(app, operator_api, sample_config())
    assert back["status"] == "succeeded", back["error"]
    assert fake_pve.count()["clone"] == 2  # the two of the first deployment, none since
    assert vm.status == "running"
    assert vm.config["tags"] == "fedipanel;m-peertube;op-acme"
    assert "VM peertube: started again with its disk" in back["log"]
    assert _facts(app, "peertube")["host_key"] == peertube["host_key"]  # the same machine
    read = _on_vm(app, fake_pve, "peertube", 'cat "$FAKE_VM_DISK/db"')
    assert read.stdout == "videos and accounts\n"
    assert fake_pve.rejected == []


def test_deleting_a_kept_vm_purges_it_with_its_disk(
    app: Flask, operator_api: Api, fake_pve: FakeProxmox
) -> None:
    assert _deploy(app, operator_api, sample_config())["status"] == "succeeded"
    vmid = _facts(app, "peertube")["vmid"]
    assert _deploy(app, operator_api, sample_config(services=KEEP_PEERTUBE))["status"] == (
        "succeeded"
    )
    assert fake_pve.disk_dir(vmid).is_dir()

    delete = {**KEEP_PEERTUBE, "peertube": {"enable": False, "keepData": False}}
    operator_api.put("/configuration", sample_config(services=delete))
    plan = operator_api.post("/plan").get_json()
    peertube = {entry["service"]: entry for entry in plan["services"]}["peertube"]
    assert "machine peertube: deleted with its disk and database" in peertube["deleted"]
    assert plan["quota"]["final"]["vms"] == 1
    result = _deploy(app, operator_api, sample_config(services=delete))
    assert result["status"] == "succeeded", result["error"]
    assert vmid not in fake_pve.vms
    assert not fake_pve.disk_dir(vmid).exists()
    assert fake_pve.calls("DELETE", rf"/qemu/{vmid}$") == [
        {"purge": "1", "destroy-unreferenced-disks": "1"}
    ]
    assert "stop" not in fake_pve.operations()  # it was already shut down
    with app.app_context():
        assert {row.machine for row in db.session.scalars(select(AddressLease))} == {"mastodon"}


def test_a_guest_that_ignores_the_shutdown_is_stopped_after_the_timeout(
    app: Flask, operator_api: Api, fake_pve: FakeProxmox
) -> None:
    assert _deploy(app, operator_api, sample_config())["status"] == "succeeded"
    vmid = _facts(app, "peertube")["vmid"]
    fake_pve.knobs.ignore_acpi.add(vmid)
    kept = _deploy(app, operator_api, sample_config(services=KEEP_PEERTUBE))
    assert kept["status"] == "succeeded", kept["error"]
    assert (
        "VM acme-peertube: no clean shutdown (shutting down VM acme-peertube failed: VM "
        "quit/powerdown failed - got timeout); stopping it"
    ) in kept["log"]
    assert fake_pve.operations()[-2:] == ["shutdown", "stop"]
    assert fake_pve.vms[vmid].status == "stopped"
    assert fake_pve.disk_dir(vmid).is_dir()
