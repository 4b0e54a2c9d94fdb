"""Deployments on the fake Proxmox: clone, configure, resize, start, change, remove, recover."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from flask import Flask
from sqlalchemy import func, select

from fedipanel.accounts.users import find_user
from fedipanel.core.resources import MachineSize
from fedipanel.db import db
from fedipanel.deployments.models import Deployment
from fedipanel.machines.models import AddressLease
from fedipanel.machines.quota import Usage, set_quota
from fedipanel.parameters.pins import pin_sizes
from fedipanel.provider_settings import store
from fedipanel.provider_settings.registry import section
from fedipanel.providers.proxmox.client import Retry
from fedipanel.resources.models import RecordedResource
from fedipanel.settings import effective
from tests.fakes.proxmox import TOKEN_SECRET, FakeProxmox
from tests.helpers import Api, Factory, sample_config, wait_for_jobs
from tests.plugins.proxmox import panel_settings

# Starts programs of its own (sshd, nix, nixops4's fake): not in `make test-fast`.
pytestmark = pytest.mark.external

VM_STEPS = ["clone", "config", "resize", "start"]


@pytest.fixture
def app_overrides(fake_pve: FakeProxmox, tmp_path: Path) -> dict[str, Any]:
    return panel_settings(fake_pve, tmp_path / "keys")


@pytest.fixture
def documents(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Capture every deployment JSON handed to nixops4."""
    import jobs.steps.nixops

    seen: list[dict[str, Any]] = []
    original = jobs.steps.nixops.deployment_document

    def capture(*args: Any) -> dict[str, Any]:
        document = original(*args)
        seen.append(document)
        return document

    monkeypatch.setattr(jobs.steps.nixops, "deployment_document", capture)
    return seen


def _deploy(app: Flask, api: Api) -> dict[str, Any]:
    # The domain confirms the deployments of these tests that delete data.
    response = api.post("/deployments", {"confirm": "acme.example"})
    assert response.status_code == 202, response.get_json()
    wait_for_jobs(app)
    return dict(api.get(f"/deployments/{response.get_json()['id']}").get_json())


def _ops(requests: list[tuple[str, str, dict[str, str]]], vmid: int) -> list[tuple[str, str]]:
    """Return the VM-changing requests on one VM, as (method, last part of the path)."""
    return [
        (m, p.rsplit("/", 1)[-1])
        for m, p, _v in requests
        if m != "GET" and re.search(rf"/qemu/{vmid}(/config|/resize|/status/\w+)?$", p)
    ]


def _facts(app: Flask) -> dict[str, dict[str, Any]]:
    with app.app_context():
        rows = db.session.scalars(
            select(RecordedResource).where(RecordedResource.kind == "machine")
        )
        return {row.name: dict(row.facts) for row in rows}


def test_deploy_clones_configures_resizes_starts_and_records_the_host_key(
    app: Flask, operator_api: Api, fake_pve: FakeProxmox, documents: list[dict[str, Any]]
) -> None:
    operator_api.put("/configuration", sample_config())
    result = _deploy(app, operator_api)
    assert result["status"] == "succeeded", result["error"]
    assert "virtual machines" not in result["simulated"]
    assert fake_pve.rejected == []
    # The two VMs come up at the same time: each one's steps in order, the two interleaved.
    assert sorted(fake_pve.operations()) == sorted(VM_STEPS * 2)
    for vmid in fake_pve.owned():
        assert _ops(fake_pve.requests, vmid) == [
            ("POST", "config"),
            ("PUT", "resize"),
            ("POST", "start"),
        ]
    clone = next(c for c in fake_pve.calls("POST", r"/clone$") if c["name"] == "acme-mastodon")
    assert clone["full"] == "1"
    assert clone["storage"] == "linstor"
    assert clone["pool"] == "fedipanel"
    assert clone["name"] == "acme-mastodon"
    assert clone["target"] == "pve2"  # the node with the most free memory
    facts = _facts(app)
    config = fake_pve.calls("POST", rf"/qemu/{facts['mastodon']['vmid']}/config$")[0]
    with app.app_context():
        from fedipanel.accounts.users import find_user
        from fedipanel.keys.deploy_keys import deploy_key

        user = find_user("op@acme.example")
        assert user is not None
        key = deploy_key(user.id).public_key
    assert config["sshkeys"] == quote(key.strip(), safe="")
    assert config["ipconfig0"] == "ip=127.0.10.10/24,gw=127.0.10.1"
    assert config["ciuser"] == "root"
    assert config["nameserver"] == "127.0.10.53"
    assert config["tags"] == "fedipanel;op-acme;m-mastodon"
    assert config["cores"] == "4"
    assert config["memory"] == "8192"
    resized = f"/qemu/{facts['mastodon']['vmid']}/resize$"
    assert fake_pve.calls("PUT", resized) == [{"disk": "scsi0", "size": "40G"}]
    vms = {vm.config["name"]: vm for vm in fake_pve.owned().values()}
    assert {name: vm.status for name, vm in vms.items()} == {
        "acme-mastodon": "running",
        "acme-peertube": "running",
    }
    mastodon = facts["mastodon"]
    assert mastodon["address"] == "127.0.10.10"
    assert mastodon["host_key"] == fake_pve.host_keys[mastodon["vmid"]]
    ssh = documents[-1]["machines"]["mastodon"]["ssh"]
    assert ssh == {"host": "127.0.10.10", "user": "root", "hostPublicKey": mastodon["host_key"]}
    assert documents[-1]["machines"]["peertube"]["ssh"]["host"] == "127.0.10.11"
    log = "\n".join(result["log"])
    for step in ("cloning", "configuring", "resizing disk", "starting", "waiting for SSH"):
        assert f"== VM mastodon: {step}" in log
    assert TOKEN_SECRET not in log


def test_a_second_run_creates_nothing_twice(
    app: Flask, operator_api: Api, fake_pve: FakeProxmox
) -> None:
    operator_api.put("/configuration", sample_config())
    assert _deploy(app, operator_api)["status"] == "succeeded"
    before = len(fake_pve.operations())
    again = _deploy(app, operator_api)
    assert again["status"] == "succeeded", again["error"]
    assert fake_pve.operations()[before:] == []
    assert len(fake_pve.owned()) == 2
    assert "found" in "\n".join(again["log"])


def test_adding_resizing_and_removing_services_across_two_deployments(
    app: Flask, operator_api: Api, fake_pve: FakeProxmox
) -> None:
    operator_api.put("/configuration", sample_config())
    assert _deploy(app, operator_api)["status"] == "succeeded"
    peertube = _facts(app)["peertube"]
    with app.app_context():
        # A new size reaches a deployed operator through a rollout, which pins it like this.
        user = find_user("op@acme.example")
        assert user is not None
        pin_sizes(user.id, {"mastodon": MachineSize(6, 12288, 50)}, replace=True)
        db.session.commit()
    services = {
        "mastodon": {"enable": True},
        "pixelfed": {"enable": True},
        "peertube": {"enable": False, "keepData": False},
    }
    operator_api.put("/configuration", sample_config(services=services))
    plan = operator_api.post("/plan").get_json()
    machines = {c["name"]: c["action"] for c in plan["changes"] if c["kind"] == "machine"}
    assert machines == {"mastodon": "update", "pixelfed": "create", "peertube": "delete"}
    before = len(fake_pve.requests)
    result = _deploy(app, operator_api)
    assert result["status"] == "succeeded", result["error"]
    later = [(m, p, v) for m, p, v in fake_pve.requests[before:] if m != "GET"]
    facts = _facts(app)
    mastodon, pixelfed = facts["mastodon"]["vmid"], facts["pixelfed"]["vmid"]
    # Mastodon (new cores and memory) and Pixelfed (new) at the same time, then PeerTube goes.
    assert _ops(later, mastodon) == [("POST", "config"), ("PUT", "resize"), ("POST", "reboot")]
    assert [v["name"] for _m, p, v in later if p.endswith("/clone")] == ["acme-pixelfed"]
    assert _ops(later, pixelfed) == [("POST", "config"), ("PUT", "resize"), ("POST", "start")]
    assert [(m, p.rsplit("/", 1)[-1]) for m, p, _ in later[-2:]] == [
        ("POST", "stop"),  # peertube, after everything else
        ("DELETE", str(peertube["vmid"])),
    ]
    assert len(later) == 9
    assert next(v for _m, p, v in later if p.endswith(f"/{mastodon}/config")) == {
        "cores": "6",
        "memory": "12288",
    }
    assert next(v for _m, p, v in later if p.endswith(f"/{mastodon}/resize")) == {
        "disk": "scsi0",
        "size": "50G",
    }
    assert later[-1][2] == {"purge": "1", "destroy-unreferenced-disks": "1"}
    names = sorted(vm.config["name"] for vm in fake_pve.owned().values())
    assert names == ["acme-mastodon", "acme-pixelfed"]
    assert "size=50G" in next(
        vm.config["scsi0"]
        for vm in fake_pve.owned().values()
        if vm.config["name"] == "acme-mastodon"
    )
    with app.app_context():
        leases = {row.machine: row.address for row in db.session.scalars(select(AddressLease))}
    # Pixelfed was created before PeerTube's address was freed, so it got a new one.
    assert leases == {"mastodon": "127.0.10.10", "pixelfed": "127.0.10.12"}
    assert fake_pve.rejected == []


def test_a_disk_shrink_is_refused_in_the_plan(
    app: Flask, operator_api: Api, fake_pve: FakeProxmox, factory: Factory
) -> None:
    operator_api.put("/configuration", sample_config())
    assert _deploy(app, operator_api)["status"] == "succeeded"
    with app.app_context():
        sec = section("sizes")
        assert sec is not None
        store.save(sec, {"SIZE_MASTODON": "4/8192/20"})
    # The settings page's sizes reach a deployed operator only through a rollout.
    plan = operator_api.post("/plan").get_json()
    assert plan["refusals"] == []
    provider = Api(operator_api.client, factory.token(factory.provider()))
    deadline = (datetime.now(UTC) + timedelta(days=10)).isoformat()
    smaller = {"mastodon": {"cores": 4, "memoryMib": 8192, "diskGib": 20}}
    rollout = provider.post(
        "/rollouts",
        {
            "title": "Smaller",
            "reason": "Cheaper",
            "deadline": deadline,
            "change": {"kind": "sizes", "sizes": smaller},
        },
    )
    assert rollout.status_code == 201, rollout.get_json()
    board = provider.get(f"/rollouts/{rollout.get_json()['id']}").get_json()
    (target,) = board["operators"]
    assert target["state"] == "blocked"
    assert "cannot shrink from 40 GiB to 20 GiB" in target["detail"]
    before = len(fake_pve.requests)
    with app.app_context():
        user = find_user("op@acme.example")
        assert user is not None
        pin_sizes(user.id, {"mastodon": MachineSize(4, 8192, 20)}, replace=True)
        db.session.commit()
    plan = operator_api.post("/plan").get_json()
    assert "cannot shrink from 40 GiB to 20 GiB" in plan["refusals"][0]
    response = operator_api.post("/deployments")
    assert response.status_code == 422
    assert response.get_json()["errors"][0]["loc"] == ["plan"]
    assert len(fake_pve.requests) == before


def test_a_deployment_beyond_the_quota_is_refused_with_nothing_created(
    app: Flask, operator_api: Api, fake_pve: FakeProxmox
) -> None:
    operator_api.put("/configuration", sample_config())
    with app.app_context():
        operator_id = db.session.scalar(select(func.min(RecordedResource.operator_id)))
        user = find_user("op@acme.example")
        assert user is not None
        assert operator_id is None
        set_quota(user.id, Usage(vms=2, cores=6, memory_mib=None, disk_gib=None))
    plan = operator_api.post("/plan").get_json()
    assert plan["quota"]["exceeded"] == ["8 vCPUs needed, quota 6"]
    response = operator_api.post("/deployments")
    assert response.status_code == 422
    error = response.get_json()["errors"][0]
    assert error["loc"] == ["quota"]
    assert "8 vCPUs needed, quota 6" in error["msg"]
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Deployment)) == 0
    assert fake_pve.requests == []


def test_a_failing_clone_task_fails_with_proxmox_words_and_the_next_run_continues(
    app: Flask, operator_api: Api, fake_pve: FakeProxmox
) -> None:
    operator_api.put("/configuration", sample_config())
    fake_pve.knobs.fail_clone_of["acme-mastodon"] = (
        "clone failed: storage 'linstor' has not enough free space"
    )
    failed = _deploy(app, operator_api)
    assert failed["status"] == "failed"
    assert "clone failed: storage 'linstor' has not enough free space" in failed["error"]
    # PeerTube's clone, asked for at the same time, may exist: if so, it is recorded.
    owned = {vm.config["name"] for vm in fake_pve.owned().values()}
    assert owned <= {"acme-peertube"}
    assert {f"acme-{name}" for name in _facts(app)} == owned
    result = _deploy(app, operator_api)
    assert result["status"] == "succeeded", result["error"]
    assert len(fake_pve.owned()) == 2
    clones = [c["name"] for c in fake_pve.calls("POST", r"/clone$")]
    assert clones.count("acme-peertube") == 1


def test_a_failure_part_way_is_continued_without_cloning_again(
    app: Flask, operator_api: Api, fake_pve: FakeProxmox
) -> None:
    operator_api.put("/configuration", sample_config())
    # The first resize fails for good, after both VMs were cloned.
    fake_pve.knobs.hold_clones = 2
    fake_pve.knobs.fail_once.append(("PUT", r"/resize$", 400, "Parameter verification failed."))
    failed = _deploy(app, operator_api)
    assert failed["status"] == "failed"
    assert "Parameter verification failed." in failed["error"]
    # Every VM that exists is recorded, so the next run finds them.
    assert set(_facts(app)) == {"mastodon", "peertube"}
    assert len(fake_pve.owned()) == 2
    result = _deploy(app, operator_api)
    assert result["status"] == "succeeded", result["error"]
    assert fake_pve.count()["clone"] == 2  # one per machine, none twice


def test_a_500_followed_by_success_is_retried(
    app: Flask, operator_api: Api, fake_pve: FakeProxmox
) -> None:
    operator_api.put("/configuration", sample_config())
    fake_pve.knobs.fail_once = [
        ("GET", r"^/nodes$", 500, "temporary failure in name resolution"),
        (
            "POST",
            r"/config$",
            500,
            "can't lock file '/var/lock/qemu-server/lock-100.conf' - got timeout",
        ),
    ]
    result = _deploy(app, operator_api)
    assert result["status"] == "succeeded", result["error"]
    assert fake_pve.knobs.fail_once == []
    assert [r[2] for r in fake_pve.rejected] == [500, 500]
    assert fake_pve.count()["clone"] == 2


def test_a_nextid_collision_with_another_deployment_is_retried(
    app: Flask, operator_api: Api, fake_pve: FakeProxmox
) -> None:
    operator_api.put("/configuration", sample_config())
    fake_pve.knobs.nextid_collisions = 1
    result = _deploy(app, operator_api)
    assert result["status"] == "succeeded", result["error"]
    assert "was taken meanwhile" in "\n".join(result["log"])
    assert sorted(_facts(app)[m]["vmid"] for m in ("mastodon", "peertube")) == [101, 102]
    assert fake_pve.vms[100].foreign  # the other deployment's VM is left alone


def test_a_permanent_error_is_reported_with_proxmox_message(
    app: Flask, operator_api: Api, fake_pve: FakeProxmox
) -> None:
    fake_pve.storages.discard("linstor")
    operator_api.put("/configuration", sample_config())
    result = _deploy(app, operator_api)
    assert result["status"] == "failed"
    assert result["error"] == "Proxmox: storage 'linstor' does not exist"


def test_the_fake_rejects_what_the_real_server_rejects(fake_pve: FakeProxmox) -> None:
    import requests

    headers = {"Authorization": f"PVEAPIToken=fedipanel@pve!panel={TOKEN_SECRET}"}
    base = f"{fake_pve.url}/api2/json/nodes/pve1/qemu/9000/clone"

    def post(data: dict[str, str]) -> requests.Response:
        return requests.post(
            base, data=data, headers=headers, verify=str(fake_pve.ca_file), timeout=5
        )

    unknown = post({"newid": "120", "colour": "blue"})
    assert unknown.status_code == 400
    assert "colour" in unknown.json()["errors"]
    assert post({"newid": "120", "full": "True"}).json()["errors"]["full"].startswith("type check")
    assert "newid" in post({"full": "1"}).json()["errors"]
    config = f"{fake_pve.url}/api2/json/nodes/pve1/qemu/9000/config"
    raw = requests.post(
        config,
        data={"sshkeys": "ssh-ed25519 AAAA x"},
        headers=headers,
        verify=str(fake_pve.ca_file),
        timeout=5,
    )
    assert raw.status_code == 400
    assert "sshkeys" in raw.json()["errors"]
    shutdown = requests.post(
        f"{fake_pve.url}/api2/json/nodes/pve1/qemu/9000/status/shutdown",
        data={"force": "1"},  # the real parameter is forceStop
        headers=headers,
        verify=str(fake_pve.ca_file),
        timeout=5,
    )
    assert shutdown.status_code == 400
    assert "force" in shutdown.json()["errors"]
    bad = requests.get(f"{fake_pve.url}/api2/json/version", verify=str(fake_pve.ca_file), timeout=5)
    assert bad.status_code == 401


def test_retry_pacing_comes_from_settings(app: Flask) -> None:
    app.config.update(PROXMOX_BACKOFF=0.5, PROXMOX_TASK_POLL=1.0)
    with app.app_context():
        assert effective.current().proxmox_retry == Retry(backoff=0.5, timeout=30.0)


def test_the_worker_checks_the_quota_again_before_creating_anything(
    app: Flask, operator_api: Api, fake_pve: FakeProxmox, monkeypatch: pytest.MonkeyPatch
) -> None:
    import threading

    import jobs.deploy

    opened = threading.Event()
    original = jobs.deploy.run_deployment

    def gated(deployment_id: int) -> None:
        opened.wait(10)
        original(deployment_id)

    monkeypatch.setattr(jobs.deploy, "run_deployment", gated)
    operator_api.put("/configuration", sample_config())
    response = operator_api.post("/deployments")
    assert response.status_code == 202
    with app.app_context():
        user = find_user("op@acme.example")
        assert user is not None
        set_quota(user.id, Usage(vms=1, cores=None, memory_mib=None, disk_gib=None))
    opened.set()
    wait_for_jobs(app)
    result = operator_api.get(f"/deployments/{response.get_json()['id']}").get_json()
    assert result["status"] == "failed"
    assert "2 VMs needed, quota 1" in result["error"]
    assert "Nothing was changed." in result["error"]
    assert fake_pve.operations() == []


def test_no_token_secret_in_any_log(
    app: Flask, operator_api: Api, fake_pve: FakeProxmox, caplog: pytest.LogCaptureFixture
) -> None:
    import logging

    caplog.set_level(logging.DEBUG)
    operator_api.put("/configuration", sample_config())
    fake_pve.knobs.fail_once = [("GET", r"^/nodes$", 500, "temporary failure")]
    result = _deploy(app, operator_api)
    assert result["status"] == "succeeded", result["error"]
    assert "trying again" in caplog.text  # the retry was logged ...
    assert TOKEN_SECRET not in caplog.text  # ... without the secret
    assert TOKEN_SECRET not in "\n".join(result["log"])


def test_a_task_that_timed_out_on_a_lock_is_run_again(
    app: Flask, operator_api: Api, fake_pve: FakeProxmox
) -> None:
    operator_api.put("/configuration", sample_config())
    fake_pve.knobs.fail_tasks = [
        ("qmstart", "can't lock file '/var/lock/qemu-server/lock-100.conf' - got timeout")
    ]
    result = _deploy(app, operator_api)
    assert result["status"] == "succeeded", result["error"]
    assert fake_pve.count()["start"] == 3  # one retried


def test_a_clone_left_unconfigured_by_a_dead_worker_is_found_not_cloned_again(
    app: Flask, operator_api: Api, fake_pve: FakeProxmox
) -> None:
    from fedipanel.providers.proxmox.provision import description

    # What a worker killed right after the clone leaves: a VM with name and description only.
    template = fake_pve.vms[fake_pve.template]
    config = {k: v for k, v in template.config.items() if k != "template"}
    config |= {"name": "acme-mastodon", "description": description("acme", "mastodon")}
    config["scsi0"] = "linstor:vm-150-disk-0,size=8G"
    from tests.fakes.proxmox import FakeVm

    fake_pve.vms[150] = FakeVm(150, "pve1", config, pool="fedipanel", disk=fake_pve.disk_dir(150))
    fake_pve.disk_dir(150).mkdir(parents=True)
    operator_api.put("/configuration", sample_config())
    result = _deploy(app, operator_api)
    assert result["status"] == "succeeded", result["error"]
    assert fake_pve.count()["clone"] == 1  # only PeerTube's
    assert _facts(app)["mastodon"]["vmid"] == 150
    assert fake_pve.vms[150].config["tags"] == "fedipanel;m-mastodon;op-acme"  # sorted by Proxmox
