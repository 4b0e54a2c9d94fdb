"""Keep or delete a disabled service's data: the planner's choice, the form and the plan page."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from fedipanel.core.configuration import Configuration
from fedipanel.core.configurator import desired_state
from fedipanel.core.planner import FATE_NOTES, DataFate, plan_changes
from fedipanel.core.registry import DEFAULT_SIZES
from fedipanel.core.resources import AssignedS3, OperatorFacts, ProviderSettings, S3Settings
from tests.helpers import Auth, Factory, wait_for_jobs

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
        c.name for c in plan_changes(after, before, ["pixelfed"]).changes if c.action == "update"
    }
    assert quota_update == {"acme-mastodon"}  # the quota is now split over one bucket, not two

    kept = {(c.kind, c.name): c for c in plan_changes(after, before, ["pixelfed"]).changes}
    assert kept[("s3_bucket", "acme-pixelfed")].action == "keep"
    assert kept[("s3_bucket", "acme-pixelfed")].note == KEEP_DATA
    assert kept[("s3_key", "acme-pixelfed")].note == KEEP_DATA
    assert kept[("machine", "pixelfed")].action == "delete"
    assert kept[("machine", "pixelfed")].note == ""

    deleted = {(c.kind, c.name): c for c in plan_changes(after, before, []).changes}
    assert deleted[("s3_bucket", "acme-pixelfed")].action == "delete"
    assert deleted[("s3_bucket", "acme-pixelfed")].note == DELETE_DATA
    assert deleted[("s3_key", "acme-pixelfed")].as_json()["note"] == DELETE_DATA


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
    form = operator.get("/configuration").get_data(as_text=True)
    assert 'id="services.pixelfed.keepData.keep" checked' in form

    operator.post(
        "/configuration",
        data={**FORM, "services.pixelfed.enable": "", "services.pixelfed.keepData": "false"},
    )
    assert "delete (data deleted)" in operator.get("/plan").get_data(as_text=True)
    form = operator.get("/configuration").get_data(as_text=True)
    assert 'id="services.pixelfed.keepData.delete" checked' in form
