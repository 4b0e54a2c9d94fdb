"""The planner compares desired with recorded resources."""

from __future__ import annotations

import json
from typing import Any

import pytest

from fedipanel.core.configuration import Configuration
from fedipanel.core.configurator import desired_state
from fedipanel.core.planner import Plan, plan_changes
from fedipanel.core.registry import DEFAULT_SIZES
from fedipanel.core.resources import KINDS, MachineSize, OperatorFacts, ProviderSettings, Resource

KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMbI2pLgY7cpVVS7Hzx6T4nGtOazV2F1bLGdYmgS6d5Q op@laptop"


def desired(*services: str, **settings: Any) -> list[Resource]:
    config = Configuration.model_validate(
        {
            "domain": "acme.example",
            "admin": {"username": "alice", "email": "alice@acme.example"},
            "services": {s: {"enable": True} for s in services},
        }
    )
    values: dict[str, Any] = {"sizes": DEFAULT_SIZES, "acme_email": "acme@provider.example"}
    return desired_state(
        config, OperatorFacts("acme", KEY), ProviderSettings(**(values | settings))
    ).resources()


def actions(plan: Plan) -> dict[tuple[str, str], str]:
    return {(c.kind, c.name): c.action for c in plan.changes}


def test_first_deploy_creates_everything() -> None:
    resources = desired("mastodon", "peertube")
    plan = plan_changes(resources, [])
    assert set(actions(plan).values()) == {"create"}
    assert plan.counts() == {"create": len(resources), "update": 0, "delete": 0, "keep": 0}
    assert not plan.is_empty()


def test_unchanged_resources_are_kept_and_the_plan_is_empty() -> None:
    resources = desired("mastodon", "pixelfed", "peertube")
    plan = plan_changes(resources, desired("mastodon", "pixelfed", "peertube"))
    assert set(actions(plan).values()) == {"keep"}
    assert plan.is_empty()


def test_size_change_updates_the_machine_with_changed_fields() -> None:
    bigger = dict(DEFAULT_SIZES) | {"mastodon": MachineSize(cores=8, memory_mib=8192, disk_gib=80)}
    plan = plan_changes(desired("mastodon", sizes=bigger), desired("mastodon"))
    updates = {(c.kind, c.name): c for c in plan.changes if c.action == "update"}
    machine = updates[("machine", "mastodon")]
    assert machine.changed == ["cores", "disk_gib"]
    assert machine.previous is not None
    assert machine.previous["cores"] == 4
    assert machine.spec["cores"] == 8
    # Mastodon's streaming processes follow the core count.
    assert updates[("nixos", "mastodon")].changed == ["services.mastodon.streamingProcesses"]


def test_nixos_changes_name_option_paths_with_quoted_host_names() -> None:
    old = [Resource("nixos", "m", {"sha256": "a", "options": {"x": {"a.b": {"y": 1}, "z": 2}}})]
    new = [Resource("nixos", "m", {"sha256": "b", "options": {"x": {"a.b": {"y": 2}}}})]
    assert plan_changes(new, old).changes[0].changed == ['x."a.b".y', "x.z"]


def test_disabling_a_service_deletes_its_resources() -> None:
    plan = plan_changes(desired("mastodon"), desired("mastodon", "peertube"))
    deleted = sorted(name for (_, name), action in actions(plan).items() if action == "delete")
    assert deleted == sorted(
        [
            "peertube",  # machine
            "peertube",  # nixos
            "peertube.acme.example",
            "peertube.acme.example CAA",
            "acme-peertube",
            "acme-peertube-playlists",
            "acme-peertube-videos",
            "acme-peertube-exports",
            "acme-peertube-originals",
        ]
    )
    delete = next(c for c in plan.changes if c.action == "delete" and c.kind == "machine")
    assert delete.spec["service"] == "peertube"


def test_creates_updates_and_keeps_follow_kinds_then_deletes_in_reverse() -> None:
    recorded = [
        Resource("machine", "old", {"cores": 1}),
        Resource("nixos", "old", {"sha256": "x"}),
        Resource("ssh_key", "deploy", {"public_key": "a"}),
    ]
    wanted = [
        Resource("nixos", "new", {"sha256": "y"}),
        Resource("dns_record", "new.acme.example", {"type": "A"}),
        Resource("ssh_key", "deploy", {"public_key": "b"}),
        Resource("machine", "new", {"cores": 2}),
    ]
    plan = plan_changes(wanted, recorded)
    assert [(c.action, c.kind) for c in plan.changes] == [
        ("update", "ssh_key"),
        ("create", "machine"),
        ("create", "dns_record"),
        ("create", "nixos"),
        ("delete", "nixos"),
        ("delete", "machine"),
    ]
    forward = [KINDS.index(c.kind) for c in plan.changes if c.action != "delete"]
    assert forward == sorted(forward)


def test_duplicate_desired_resources_are_refused() -> None:
    with pytest.raises(ValueError, match="duplicate"):
        plan_changes([Resource("machine", "a"), Resource("machine", "a")], [])


@pytest.mark.parametrize(
    ("recorded", "summary"),
    [
        ([], {"create": 1, "update": 0, "delete": 0, "keep": 0}),
        ([Resource("ssh_key", "deploy", {"public_key": "a"})], {"keep": 1}),
        ([Resource("ssh_key", "deploy", {"public_key": "b"})], {"update": 1}),
        ([Resource("ssh_key", "old", {})], {"create": 1, "delete": 1}),
    ],
)
def test_as_json_lists_changes_and_a_summary(
    recorded: list[Resource], summary: dict[str, int]
) -> None:
    plan = plan_changes([Resource("ssh_key", "deploy", {"public_key": "a"})], recorded)
    document = plan.as_json()
    assert json.loads(json.dumps(document)) == document
    assert list(document) == ["changes", "summary", "services"]
    assert document["services"] == []  # nothing of a service's data is kept or deleted
    assert {k: v for k, v in document["summary"].items() if v} == {
        k: v for k, v in summary.items() if v
    }
    for change in document["changes"]:
        assert list(change) == ["action", "kind", "name", "changed", "spec"]
        assert change["action"] in {"create", "update", "delete", "keep"}
