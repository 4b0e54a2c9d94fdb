"""Rekeying on (a fake) Garage: a new key per service, the old one deleted only after success."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

import jobs.steps.checks
from fedipanel.accounts.models import User
from fedipanel.db import db
from fedipanel.keys.deploy_keys import start_rekey
from fedipanel.providers.garage import s3
from fedipanel.storage.models import StorageKey
from jobs.runner import StepFailed
from tests.fakes.garage_admin import FakeGarage
from tests.helpers import Api
from tests.plugins.machines import LoopbackMachines
from tests.test_garage_storage import ALL, _machines, app_overrides, deploy, record

pytestmark = pytest.mark.external
__all__ = ["_machines", "app_overrides", "record"]  # the fixtures of the Garage storage tests


def _rekey(app: Flask) -> None:
    with app.app_context():
        user = db.session.scalar(select(User).where(User.slug == "acme"))
        assert user is not None
        start_rekey(user.id, "acme")
        db.session.commit()


def _stored(app: Flask, service: str) -> StorageKey:
    with app.app_context():
        row = db.session.scalar(select(StorageKey).where(StorageKey.service == service))
        assert row is not None
        db.session.expunge(row)
        return row


def _works(garage: FakeGarage, key_id: str, secret: str, bucket: str) -> bool:
    try:
        s3.probe(s3.Credentials(garage.s3_url, "garage", key_id, secret), bucket)
    except s3.S3Error:
        return False
    return True


def test_a_failed_rekey_keeps_the_old_key_and_a_successful_one_deletes_it(
    app: Flask,
    operator_api: Api,
    garage: FakeGarage,
    monkeypatch: pytest.MonkeyPatch,
    loopback_machines: LoopbackMachines,
) -> None:
    operator_api.put("/configuration", ALL)
    assert deploy(app, operator_api)["status"] == "succeeded"
    old = garage.key_named("acme-mastodon")
    assert old is not None
    _rekey(app)
    loopback_machines.install(app)  # what the machines' configuration does with the new key

    def broken(ctx: Any) -> None:
        raise StepFailed("mastodon does not answer")

    monkeypatch.setattr(jobs.steps.checks, "check_services", broken)
    failed = deploy(app, operator_api)
    assert failed["status"] == "failed"
    row = _stored(app, "mastodon")
    assert row.previous_access_key_id == old.id
    new = garage.key_named(row.name)
    assert new is not None
    assert new.id != old.id
    # Both keys work: the machines may hold either while the update is unfinished.
    assert _works(garage, old.id, old.secret, "acme-mastodon")
    assert _works(garage, new.id, new.secret, "acme-mastodon")
    granted = {garage.buckets[b].alias: p for b, p in new.perms.items()}
    assert granted == {"acme-mastodon": {"read": True, "write": True, "owner": False}}
    assert not any(new.secret in line for line in failed["log"])

    monkeypatch.undo()
    finished = deploy(app, operator_api)
    assert finished["status"] == "succeeded", finished["error"]
    assert garage.key_named("acme-mastodon") is None  # the old key is revoked
    assert garage.key_named(row.name) is not None  # the new one, made once, stays
    assert _stored(app, "mastodon").previous_access_key_id is None
    assert not any(new.secret in line for line in finished["log"])
    assert any("old key acme-mastodon" in line for line in finished["log"])
