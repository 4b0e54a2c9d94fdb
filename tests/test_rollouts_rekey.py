"""Rollouts of new Proxmox parameters and of new keys: planned, announced, applied, retired."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

import jobs.steps.checks
from fedipanel.accounts.models import User
from fedipanel.db import db
from fedipanel.keys.models import DeployKey
from fedipanel.resources.models import RecordedResource
from fedipanel.timeutil import utcnow
from jobs.runner import StepFailed
from tests.helpers import Api, Factory, wait_for_jobs
from tests.test_rollouts import advance, board, deployed_operator, rollout_body


@pytest.fixture
def provider_api(client: FlaskClient, factory: Factory) -> Api:
    return Api(client, factory.token(factory.provider()))


def _key(app: Flask, slug: str) -> tuple[str, str, str | None]:
    with app.app_context():
        user = db.session.scalar(select(User).where(User.slug == slug))
        assert user is not None
        key = db.session.scalar(select(DeployKey).where(DeployKey.operator_id == user.id))
        assert key is not None
        return key.public_key, key.private_key_encrypted, key.next_public_key


def _recorded_ssh_key(app: Flask) -> dict[str, Any]:
    with app.app_context():
        row = db.session.scalar(select(RecordedResource).where(RecordedResource.kind == "ssh_key"))
        assert row is not None
        return dict(row.spec)


def _run_now(app: Flask, acme: Api, provider_api: Api, rollout_id: int) -> dict[str, Any]:
    assert acme.post(f"/rollouts/{rollout_id}/schedule", {"now": True}).status_code == 200
    wait_for_jobs(app)
    advance(app, utcnow())
    return board(provider_api, rollout_id)["operators"][0]  # type: ignore[no-any-return]


def test_a_rekey_authorizes_the_new_key_beside_the_old_then_retires_the_old(
    app: Flask, client: FlaskClient, factory: Factory, provider_api: Api
) -> None:
    acme = deployed_operator(app, client, factory, "acme")
    old_public, old_private, pending = _key(app, "acme")
    assert pending is None
    rollout_id = provider_api.post(
        "/rollouts", rollout_body(change={"kind": "rekey"}, noticeHours=0)
    ).json["id"]
    view = acme.get(f"/rollouts/{rollout_id}").json
    told = {(c["kind"], c["name"]) for c in view["changes"]}
    assert ("ssh_key", "deploy key") in told
    assert ("s3_key", "acme-mastodon") in told  # each service's S3 key is replaced too

    target = _run_now(app, acme, provider_api, rollout_id)
    assert target["state"] == "succeeded", target
    new_public, new_private, pending = _key(app, "acme")
    assert new_public != old_public
    assert new_private != old_private
    assert pending is None
    # The update authorized both keys (the machines had the new one before the old one went).
    assert _recorded_ssh_key(app) == {"public_key": old_public, "next_public_key": new_public}
    log = acme.get(f"/deployments/{target['deployment']}").json["log"]
    assert any("deploy key replaced" in line for line in log)
    assert not any(old_private in line or "PRIVATE KEY" in line for line in log)

    # The next deployment leaves only the new key on the machines.
    plan = acme.post("/plan").json["changes"]
    assert any(c["kind"] == "ssh_key" and c["action"] == "update" for c in plan)
    started = acme.post("/deployments")
    wait_for_jobs(app)
    assert acme.get(f"/deployments/{started.json['id']}").json["status"] == "succeeded"
    assert _recorded_ssh_key(app) == {"public_key": new_public}


def test_a_failed_rekey_keeps_the_old_key_and_the_next_deployment_finishes_it(
    app: Flask,
    client: FlaskClient,
    factory: Factory,
    provider_api: Api,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    acme = deployed_operator(app, client, factory, "acme")
    old_public, old_private, _ = _key(app, "acme")

    def broken(ctx: Any) -> None:
        raise StepFailed("mastodon does not answer")

    monkeypatch.setattr(jobs.steps.checks, "check_services", broken)
    rollout_id = provider_api.post(
        "/rollouts", rollout_body(change={"kind": "rekey"}, noticeHours=0)
    ).json["id"]
    target = _run_now(app, acme, provider_api, rollout_id)
    assert target["state"] == "failed"
    public, private, pending = _key(app, "acme")
    assert (public, private) == (old_public, old_private)  # the old key still works
    assert pending is not None
    assert pending != old_public

    monkeypatch.undo()
    retried = provider_api.post(f"/rollouts/{rollout_id}/retry")
    assert retried.status_code == 200
    wait_for_jobs(app)
    advance(app, utcnow())
    assert board(provider_api, rollout_id)["operators"][0]["state"] == "succeeded"
    assert _key(app, "acme")[0] == pending  # the same pending key, promoted


def test_proxmox_parameters_are_skipped_without_proxmox(
    app: Flask, client: FlaskClient, factory: Factory, provider_api: Api
) -> None:
    deployed_operator(app, client, factory, "acme")
    body = rollout_body(change={"kind": "proxmox", "parameters": {"template": 9001}})
    created = provider_api.post("/rollouts", body)
    assert created.status_code == 201, created.json
    target = board(provider_api, created.json["id"])["operators"][0]
    assert target["state"] == "skipped"
    assert "Proxmox" in target["detail"]


@pytest.mark.parametrize(
    ("parameters", "loc"),
    [
        ({}, ["change", "proxmox", "parameters"]),
        ({"template": 5}, ["change", "proxmox", "parameters", "template"]),
        ({"storage": "no such storage!"}, ["change", "proxmox", "parameters", "storage"]),
        ({"nodes": ["-bad-"]}, ["change", "proxmox", "parameters", "nodes"]),
        ({"bridge": "vmbr0"}, ["change", "proxmox", "parameters", "bridge"]),
    ],
)
def test_bad_proxmox_parameters_are_refused_at_the_field(
    provider_api: Api, parameters: dict[str, Any], loc: list[Any]
) -> None:
    body = rollout_body(change={"kind": "proxmox", "parameters": parameters})
    refused = provider_api.post("/rollouts", body)
    assert refused.status_code == 422, refused.json
    assert refused.json["errors"][0]["loc"][: len(loc)] == loc


def test_the_page_offers_both_kinds_and_shows_errors_at_the_field(
    client: FlaskClient, factory: Factory, auth: Any
) -> None:
    factory.provider("boss@example.com")
    auth.login("boss@example.com")
    page = client.get("/rollouts/new")
    assert b'value="rekey"' in page.data
    assert b'name="proxmox-template"' in page.data
    form = {
        "title": "New storage",
        "reason": "The old storage is full",
        "deadline": "2099-01-01T00:00",
        "operators": "all",
        "kind": "proxmox",
        "proxmox-storage": "bad storage!",
    }
    answer = client.post("/rollouts/new", data=form)
    assert answer.status_code == 400
    assert b"not a storage ID" in answer.data
    assert b'value="bad storage!"' in answer.data
    created = client.post("/rollouts/new", data=form | {"proxmox-storage": "ceph"})
    assert created.status_code in (200, 302, 303)
    rekey = client.post("/rollouts/new", data=form | {"kind": "rekey"})
    assert rekey.status_code in (200, 302, 303)
