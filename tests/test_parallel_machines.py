"""The machines of one deployment on the fake Proxmox, all at once: overlap, bound, failure, log."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from fedipanel.db import db
from fedipanel.resources.models import RecordedResource
from tests.fakes.proxmox import FakeProxmox
from tests.helpers import Api, sample_config, wait_for_jobs
from tests.plugins.proxmox import panel_settings
from tests.test_parallel_steps import Gate

# Starts programs of its own (sshd per VM): not in `make test-fast`.
pytestmark = pytest.mark.external

THREE = sample_config(
    services={
        "mastodon": {"enable": True},
        "pixelfed": {"enable": True},
        "peertube": {"enable": True},
    }
)
MACHINES = ("mastodon", "pixelfed", "peertube")


@pytest.fixture
def bound() -> int:
    return 4


@pytest.fixture
def app_overrides(fake_pve: FakeProxmox, tmp_path: Path, bound: int) -> dict[str, Any]:
    return panel_settings(fake_pve, tmp_path / "keys", PARALLEL_MACHINES=bound)


def _deploy(app: Flask, api: Api) -> dict[str, Any]:
    response = api.post("/deployments", {"confirm": "acme.example"})
    assert response.status_code == 202, response.get_json()
    wait_for_jobs(app)
    return dict(api.get(f"/deployments/{response.get_json()['id']}").get_json())


def _recorded(app: Flask) -> dict[str, dict[str, Any]]:
    with app.app_context():
        rows = db.session.scalars(
            select(RecordedResource).where(RecordedResource.kind == "machine")
        )
        return {row.name: dict(row.facts) for row in rows}


def _cloned(fake: FakeProxmox) -> list[str]:
    return [call["name"] for call in fake.calls("POST", r"/clone$")]


def test_three_machines_are_cloned_at_the_same_time(
    app: Flask, operator_api: Api, fake_pve: FakeProxmox
) -> None:
    # Each clone keeps running until all three were asked for: only overlapping clones finish
    # at once, serial ones wait out the fake's hold first (and fail the assertion below).
    fake_pve.knobs.hold_clones = 3
    operator_api.put("/configuration", THREE)
    result = _deploy(app, operator_api)
    assert result["status"] == "succeeded", result["error"]
    assert fake_pve.max_clones_in_flight == 3
    assert sorted(_cloned(fake_pve)) == sorted(f"acme-{m}" for m in MACHINES)
    facts = _recorded(app)
    for machine in MACHINES:
        assert facts[machine]["host_key"] == fake_pve.host_keys[facts[machine]["vmid"]]


@pytest.mark.parametrize("bound", [1, 2])
def test_no_more_machines_than_the_bound_are_worked_on_at_once(
    app: Flask, operator_api: Api, fake_pve: FakeProxmox, bound: int
) -> None:
    fake_pve.knobs.hold_clones = bound
    operator_api.put("/configuration", THREE)
    result = _deploy(app, operator_api)
    assert result["status"] == "succeeded", result["error"]
    assert fake_pve.max_clones_in_flight == bound
    # Each machine has one task at a time: the bound holds for every kind of task.
    assert fake_pve.max_in_flight == bound
    assert len(fake_pve.owned()) == 3


def test_each_machines_lines_say_which_machine_they_are_about(
    app: Flask, operator_api: Api, fake_pve: FakeProxmox
) -> None:
    operator_api.put("/configuration", THREE)
    result = _deploy(app, operator_api)
    assert result["status"] == "succeeded", result["error"]
    log: list[str] = result["log"]
    begin = log.index("== Provisioning machines")
    end = next(
        i
        for i in range(begin + 1, len(log))
        if log[i].startswith("== ") and not log[i].startswith("== VM ")
    )
    provisioning = log[begin + 1 : end]
    assert provisioning
    for line in provisioning:
        assert any(
            line.startswith((f"VM {m}: ", f"VM acme-{m}: ", f"== VM {m}: ")) for m in MACHINES
        ), line
    for machine in MACHINES:
        assert f"== VM {machine}: cloning" in provisioning
        assert any(line.startswith(f"VM {machine}: SSH answers on ") for line in provisioning)
    secrets = [line for line in log if line.startswith("secrets on ")]
    assert sorted(line.split(":")[0] for line in secrets) == [
        f"secrets on {m}" for m in sorted(MACHINES)
    ]


@pytest.mark.parametrize("bound", [2])
def test_a_failing_clone_stops_the_others_and_what_exists_is_recorded(
    app: Flask, operator_api: Api, fake_pve: FakeProxmox
) -> None:
    # Mastodon's and Pixelfed's clones run together; Pixelfed's fails while Mastodon's is still
    # running. Mastodon's finishes and is recorded, then stops; PeerTube's never begins.
    fake_pve.knobs.hold_clones = 2
    fake_pve.knobs.fail_clone_of["acme-pixelfed"] = "clone failed: storage 'linstor' is full"
    fake_pve.timing.factor["acme-mastodon"] = 20.0
    operator_api.put("/configuration", THREE)
    failed = _deploy(app, operator_api)
    assert failed["status"] == "failed"
    assert "clone failed: storage 'linstor' is full" in failed["error"]
    assert fake_pve.max_clones_in_flight == 2
    assert sorted(_cloned(fake_pve)) == ["acme-mastodon", "acme-pixelfed"]
    assert "start" not in fake_pve.operations()
    assert [vm.config["name"] for vm in fake_pve.owned().values()] == ["acme-mastodon"]
    facts = _recorded(app)
    assert set(facts) == {"mastodon"}
    assert facts["mastodon"]["vmid"] in fake_pve.owned()
    assert "VM peertube: stopped, another machine failed" in failed["log"]
    assert "VM mastodon: stopped, another machine failed" in failed["log"]

    again = _deploy(app, operator_api)
    assert again["status"] == "succeeded", again["error"]
    assert _cloned(fake_pve).count("acme-mastodon") == 1  # found again, not cloned twice
    assert len(fake_pve.owned()) == 3
    assert set(_recorded(app)) == set(MACHINES)


def test_secrets_reach_the_machines_at_the_same_time(
    app: Flask, operator_api: Api, fake_pve: FakeProxmox, monkeypatch: pytest.MonkeyPatch
) -> None:
    import jobs.steps.secrets

    gate = Gate(3)
    original = jobs.steps.secrets.ssh_deliver

    def delivering(*args: Any, **kwargs: Any) -> Any:
        with gate:
            return original(*args, **kwargs)

    monkeypatch.setattr(jobs.steps.secrets, "ssh_deliver", delivering)
    operator_api.put("/configuration", THREE)
    result = _deploy(app, operator_api)
    assert result["status"] == "succeeded", result["error"]
    assert gate.began == 3
    assert gate.most == 3
