"""Keep or delete a disabled service's data: the planner's choice, the quota, the form and the
plan page."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from fedipanel.accounts.users import find_user
from fedipanel.core.configuration import Configuration
from fedipanel.core.configurator import desired_state
from fedipanel.core.planner import FATE_NOTES, Action, DataFate, plan_changes
from fedipanel.core.registry import DEFAULT_SIZES
from fedipanel.core.resources import (
    AssignedS3,
    OperatorFacts,
    ProviderSettings,
    Resource,
    S3Settings,
)
from fedipanel.machines.quota import (
    Usage,
    final_usage,
    kept_note,
    peak_usage,
    set_quota,
    total_usage,
)
from tests.helpers import Api, Auth, Factory, sample_config, wait_for_jobs

KEEP_DATA, DELETE_DATA = FATE_NOTES[DataFate.KEEP], FATE_NOTES[DataFate.DELETE]
NEVER_DELETED = FATE_NOTES[DataFate.NEVER_DELETED]

KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMbI2pLgY7cpVVS7Hzx6T4nGtOazV2F1bLGdYmgS6d5Q op@laptop"
S3 = S3Settings("https://s3.provider.example", "garage", None, 8 * 1024**3)


def state(services: dict[str, Any], assigned: dict[str, AssignedS3] | None = None) -> Any:
    config = Configuration.model_validate(
        {
            "domain": "acme.example",
            "admin": {"username": "alice", "email": "alice@acme.example"},
            "services": services,
        }
    )
    settings = ProviderSettings(sizes=DEFAULT_SIZES, acme_email="a@provider.example", s3=S3)
    return desired_state(config, OperatorFacts("acme", KEY, assigned or {}), settings)


def test_kept_data_stays_and_deleted_data_goes_and_nothing_else_changes() -> None:
    before = state({"mastodon": {"enable": True}, "pixelfed": {"enable": True}}).resources()
    after = state({"mastodon": {"enable": True}}).resources()
    quota_update = {
        c.name
        for c in plan_changes(after, before, ["pixelfed"]).changes
        if c.action == "update" and c.kind == "s3_bucket"
    }
    assert quota_update == {"acme-mastodon"}  # the quota is now split over one bucket, not two

    kept = {(c.kind, c.name): c for c in plan_changes(after, before, ["pixelfed"]).changes}
    assert kept[("s3_bucket", "acme-pixelfed")].action == "keep"
    assert kept[("s3_bucket", "acme-pixelfed")].note == KEEP_DATA
    assert kept[("s3_key", "acme-pixelfed")].note == KEEP_DATA
    machine = kept[("machine", "pixelfed")]
    assert (machine.action, machine.data, machine.changed) == ("update", DataFate.KEEP, ["kept"])
    assert machine.spec == {**machine.previous, "kept": True}
    assert machine.note == "shut down, disk and database kept"
    # What only serves the running service goes.
    assert kept[("dns_record", "pixelfed.acme.example")].action == "delete"
    assert kept[("nixos", "pixelfed")].action == "delete"

    deleted = {(c.kind, c.name): c for c in plan_changes(after, before, []).changes}
    assert deleted[("s3_bucket", "acme-pixelfed")].action == "delete"
    assert deleted[("s3_bucket", "acme-pixelfed")].note == DELETE_DATA
    assert deleted[("s3_key", "acme-pixelfed")].as_json()["note"] == DELETE_DATA
    machine = deleted[("machine", "pixelfed")]
    assert (machine.action, machine.data) == ("delete", DataFate.DELETE)
    assert machine.as_json()["note"] == "deleted with its disk and database"
    assert machine.as_json()["data"] == "delete"


def test_a_kept_machine_stays_kept_and_is_started_again_when_its_service_returns() -> None:
    both = state({"mastodon": {"enable": True}, "pixelfed": {"enable": True}}).resources()
    mastodon_only = state({"mastodon": {"enable": True}}).resources()
    first = plan_changes(mastodon_only, both, ["pixelfed"])
    # What the deployment records: the kept machine with its kept spec, without what went.
    recorded = [
        Resource(c.kind, c.name, c.spec) for c in first.changes if c.action != Action.DELETE
    ]

    again = plan_changes(mastodon_only, recorded, ["pixelfed"])
    assert again.is_empty()
    machine = next(c for c in again.changes if c.kind == "machine" and c.name == "pixelfed")
    assert (machine.action, machine.data) == ("keep", DataFate.KEEP)

    back = {(c.kind, c.name): c for c in plan_changes(both, recorded, []).changes}
    machine = back[("machine", "pixelfed")]
    assert (machine.action, machine.changed) == ("update", ["kept"])
    assert "kept" not in machine.spec
    assert machine.note == "started again with its disk and database"
    assert machine.data is None
    assert back[("nixos", "pixelfed")].action == "create"
    assert back[("s3_bucket", "acme-pixelfed")].action == "keep"

    # Deleting it later deletes all of it.
    gone = {(c.kind, c.name): c for c in plan_changes(mastodon_only, recorded, []).changes}
    assert gone[("machine", "pixelfed")].action == "delete"
    assert gone[("machine", "pixelfed")].note == "deleted with its disk and database"


def test_the_plan_says_per_service_in_plain_words_what_is_kept_and_what_is_deleted() -> None:
    everything = {
        "mastodon": {"enable": True},
        "pixelfed": {"enable": True},
        "peertube": {"enable": True},
    }
    before = state(everything).resources()
    after = state({"mastodon": {"enable": True}}).resources()
    plan = plan_changes(after, before, ["pixelfed"], pooled=["peertube"])
    services = {entry["service"]: entry for entry in plan.as_json()["services"]}
    assert set(services) == {"pixelfed", "peertube"}  # mastodon keeps and deletes nothing
    assert services["pixelfed"] == {
        "service": "pixelfed",
        "kept": [
            "machine pixelfed: shut down, disk and database kept",
            "bucket acme-pixelfed: kept with its files",
            "key acme-pixelfed: kept",
        ],
        "deleted": [
            "DNS record pixelfed.acme.example: deleted",
            "DNS record pixelfed.acme.example CAA: deleted",
        ],
    }
    peertube = services["peertube"]
    assert peertube["kept"] == []
    assert peertube["deleted"][-1] == (
        "machine peertube: its pre-deployed VM is wiped (database and files deleted) and returned"
    )
    assert "bucket acme-peertube-videos: emptied and deleted" in peertube["deleted"]
    assert "key acme-peertube: deleted" in peertube["deleted"]
    kept_on_pool = plan_changes(after, before, ["peertube"], pooled=["peertube"])
    assert kept_on_pool.services()[0]["kept"][0] == (
        "machine peertube: its pre-deployed VM stays yours, disk and database kept"
    )


def test_a_kept_machine_counts_with_its_disk_not_its_cores_and_memory() -> None:
    both = state({"mastodon": {"enable": True}, "pixelfed": {"enable": True}}).resources()
    mastodon_only = state({"mastodon": {"enable": True}}).resources()
    keeping = plan_changes(mastodon_only, both, ["pixelfed"])
    mastodon, pixelfed = DEFAULT_SIZES["mastodon"], DEFAULT_SIZES["pixelfed"]
    # After deploying: pixelfed's VM still exists with its disk, shut down.
    assert final_usage(keeping) == Usage(
        vms=2,
        cores=mastodon.cores,
        memory_mib=mastodon.memory_mib,
        disk_gib=mastodon.disk_gib + pixelfed.disk_gib,
    )
    # While deploying it still runs: it is shut down once the rest succeeded.
    assert peak_usage(keeping).cores == mastodon.cores + pixelfed.cores
    assert kept_note(keeping) == (
        f"Kept machine pixelfed counts as 1 VM with its {pixelfed.disk_gib} GiB disk; its vCPUs "
        "and memory are free while it is kept."
    )
    recorded = [
        Resource(c.kind, c.name, c.spec) for c in keeping.changes if c.action != Action.DELETE
    ]
    assert total_usage(r.spec for r in recorded if r.kind == "machine").cores == mastodon.cores
    starting = plan_changes(both, recorded, [])
    assert peak_usage(starting).cores == mastodon.cores + pixelfed.cores
    assert kept_note(starting) == ""


def test_a_preconfigured_bucket_replaces_the_garage_ones_and_is_never_deleted() -> None:
    legacy = AssignedS3("https://old-s3.example", "eu-west-1", "legacy-videos")
    with_it = state({"peertube": {"enable": True}}, {"peertube": legacy})
    resources = with_it.resources()
    buckets = [r for r in resources if r.kind == "s3_bucket"]
    assert [(b.name, b.spec["assigned"]) for b in buckets] == [("legacy-videos", True)]
    assert not [r for r in resources if r.kind == "s3_key"]
    storage = with_it.machines["peertube"].nixos["services"]["peertube"]["settings"][
        "object_storage"
    ]
    assert storage["endpoint"] == "https://old-s3.example"
    assert storage["region"] == "eu-west-1"
    assert {s["bucket_name"] for k, s in storage.items() if isinstance(s, dict)} == {
        "legacy-videos"
    }
    assert storage["web_videos"]["prefix"] == "web-videos/"
    gone = state({"peertube": {"enable": False}}, {"peertube": legacy}).resources()
    change = next(c for c in plan_changes(gone, resources, []).changes if c.kind == "s3_bucket")
    assert (change.action, change.note) == ("delete", NEVER_DELETED)


def test_assigning_a_bucket_later_keeps_the_garage_data_unless_asked() -> None:
    garage = state({"mastodon": {"enable": True}}).resources()
    legacy = {"mastodon": AssignedS3("https://s3.provider.example", "garage", "legacy")}
    assigned = state({"mastodon": {"enable": True}}, legacy).resources()
    notes = {c.name: c.note for c in plan_changes(assigned, garage, ["mastodon"]).changes}
    assert notes["acme-mastodon"] == KEEP_DATA


@pytest.fixture
def operator(client: FlaskClient, auth: Auth, factory: Factory) -> FlaskClient:
    factory.operator("op@acme.example", slug="acme")
    auth.login("op@acme.example")
    return client


FORM = {
    "domain": "acme.example",
    "admin.username": "alice",
    "admin.email": "alice@acme.example",
    "services.mastodon.enable": "on",
    "services.pixelfed.enable": "on",
}


def test_the_form_asks_keep_or_delete_and_the_plan_shows_the_choice(
    app: Flask, operator: FlaskClient
) -> None:
    page = operator.get("/configuration").get_data(as_text=True)
    assert 'name="services.pixelfed.keepData" value="true"' in page
    assert 'name="services.pixelfed.keepData" value="false"' in page
    operator.post("/configuration", data=FORM)
    operator.post("/deployments")
    wait_for_jobs(app)

    operator.post("/configuration", data={**FORM, "services.pixelfed.enable": ""})
    page = operator.get("/plan").get_data(as_text=True)
    assert KEEP_DATA in page
    assert "What happens to your data" in page
    assert "<li>machine pixelfed: shut down, disk and database kept</li>" in page
    assert "<li>bucket acme-pixelfed: kept with its files</li>" in page
    assert "Kept machine pixelfed counts as 1 VM with its 30 GiB disk" in page
    form = operator.get("/configuration").get_data(as_text=True)
    assert 'id="services.pixelfed.keepData.keep" checked' in form

    operator.post(
        "/configuration",
        data={**FORM, "services.pixelfed.enable": "", "services.pixelfed.keepData": "false"},
    )
    page = operator.get("/plan").get_data(as_text=True)
    assert "delete (data deleted)" in page
    assert "<li>machine pixelfed: deleted with its disk and database</li>" in page
    assert "Kept machine" not in page
    form = operator.get("/configuration").get_data(as_text=True)
    assert 'id="services.pixelfed.keepData.delete" checked' in form


def test_the_quota_counts_a_kept_machine_s_disk_but_not_its_cores_and_memory(
    app: Flask, operator_api: Api, factory: Factory
) -> None:
    everything = {
        "mastodon": {"enable": True},
        "pixelfed": {"enable": False},
        "peertube": {"enable": True},
    }
    operator_api.put("/configuration", sample_config(services=everything))
    operator_api.post("/deployments")
    wait_for_jobs(app)
    kept = {**everything, "peertube": {"enable": False}}
    operator_api.put("/configuration", sample_config(services=kept))
    response = operator_api.post("/deployments")
    wait_for_jobs(app)
    result = operator_api.get(f"/deployments/{response.get_json()['id']}").get_json()
    assert result["status"] == "succeeded", result["error"]
    assert "[simulated] shut down VM peertube, tag it kept; its disk stays" in result["log"]

    with app.app_context():
        operator = find_user("op@acme.example")
        assert operator is not None
        # Mastodon 4 vCPUs + Pixelfed 2 fit; 40 + 30 GiB fit, not with PeerTube's kept 60 GiB.
        set_quota(operator.id, Usage(vms=3, cores=6, memory_mib=None, disk_gib=120))
    operator_api.put(
        "/configuration", sample_config(services={**kept, "pixelfed": {"enable": True}})
    )
    plan = operator_api.post("/plan").get_json()
    assert plan["quota"]["exceeded"] == ["130 GiB disk needed, quota 120"]
    assert plan["quota"]["final"] == {"vms": 3, "cores": 6, "memory_mib": 12288, "disk_gib": 130}
    refused = operator_api.post("/deployments")
    assert refused.status_code == 422
    assert refused.get_json()["errors"][0]["loc"] == ["quota"]
