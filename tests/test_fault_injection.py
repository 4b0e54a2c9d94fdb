"""Whole deployments and deletions while 30% of Proxmox and Garage calls fail transiently.

Several operators deploy VMs on the fake Proxmox and buckets and keys on the fake Garage while
both drop, refuse, delay or lose the answers of a seeded share of their calls; afterwards
exactly the expected VMs, buckets and keys exist, once each, and after the accounts are
deleted nothing is left. The counts are printed (run with `-s` to see them).
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from fedipanel.db import db
from fedipanel.resources.models import RecordedResource
from tests.fakes.faults import Faults
from tests.fakes.garage_admin import FakeGarage
from tests.fakes.proxmox import FakeProxmox
from tests.helpers import Api, Factory, sample_config, wait_for_jobs
from tests.plugins.garage import garage_settings
from tests.plugins.proxmox import panel_settings

# Starts programs of its own (an sshd per VM): not in `make test-fast`.
pytestmark = pytest.mark.external

OPERATORS = ("acme", "bravo", "cedar")
RATE = 0.3
SEED = 20251112
TIMEOUT = 0.5  # seconds the panel waits for one answer; a slow answer takes longer
MACHINES = ("mastodon", "peertube")
CLONE, CREATE_BUCKET, CREATE_KEY = r"^POST .*/clone$", r"CreateBucket$", r"CreateKey$"
BUCKETS = (
    "mastodon",
    "peertube-playlists",
    "peertube-videos",
    "peertube-exports",
    "peertube-originals",
)


@pytest.fixture
def app_overrides(fake_pve: FakeProxmox, garage: FakeGarage, tmp_path: Path) -> dict[str, Any]:
    return {
        **panel_settings(fake_pve, tmp_path / "keys"),
        **garage_settings(garage),
        # Enough tries that 30% failures never exhaust them (0.3^12 per call), short pauses.
        "PROXMOX_ATTEMPTS": 12,
        "PROXMOX_TIMEOUT": TIMEOUT,
        "GARAGE_ATTEMPTS": 12,
        "GARAGE_BACKOFF": 0.01,
        "GARAGE_TIMEOUT": TIMEOUT,
    }


def expected(slug: str) -> tuple[set[str], set[str], set[str]]:
    """Return the VM names, bucket aliases and key names an operator's deployment makes."""
    return (
        {f"{slug}-{m}" for m in MACHINES},
        {f"{slug}-{b}" for b in BUCKETS},
        {f"{slug}-{m}" for m in MACHINES},
    )


def test_deployments_and_deletions_make_each_resource_exactly_once_despite_faults(
    app: Flask,
    client: FlaskClient,
    factory: Factory,
    fake_pve: FakeProxmox,
    garage: FakeGarage,
) -> None:
    apis = {}
    for slug in OPERATORS:
        api = Api(client, factory.token(factory.operator(f"op@{slug}.example", slug=slug)))
        admin = {"username": "alice", "email": f"alice@{slug}.example"}
        saved = api.put("/configuration", sample_config(domain=f"{slug}.example", admin=admin))
        assert saved.status_code == 200, saved.get_json()
        apis[slug] = api
    # Besides the random share, the first creations certainly lose their answers.
    fake_pve.faults = Faults(
        RATE, SEED, slow=TIMEOUT * 1.5, script=[(CLONE, "lost"), (CLONE, "slow"), (CLONE, "504")]
    )
    garage.faults = Faults(
        RATE,
        SEED + 1,
        slow=TIMEOUT * 1.5,
        script=[
            (CREATE_BUCKET, "504"),
            (CREATE_BUCKET, "lost"),
            (CREATE_KEY, "slow"),
            (CREATE_KEY, "lost"),
        ],
    )

    started = {slug: api.post("/deployments").get_json()["id"] for slug, api in apis.items()}
    wait_for_jobs(app)
    for slug, api in apis.items():
        result = api.get(f"/deployments/{started[slug]}").get_json()
        assert result["status"] == "succeeded", (slug, result["error"], result["log"][-15:])

    vms = Counter(vm.config["name"] for vm in fake_pve.owned().values())
    buckets = Counter(bucket.alias for bucket in garage.buckets.values())
    keys = Counter(key.name for key in garage.keys.values())
    want_vms: set[str] = set()
    want_buckets: set[str] = set()
    want_keys: set[str] = set()
    for slug in OPERATORS:
        names, aliases, key_names = expected(slug)
        want_vms |= names
        want_buckets |= aliases
        want_keys |= key_names
    assert vms == Counter(want_vms)  # each once: nothing twice, nothing missing
    assert buckets == Counter(want_buckets)
    assert keys == Counter(want_keys)
    assert all(vm.status == "running" for vm in fake_pve.owned().values())
    with app.app_context():
        recorded = {
            (row.kind, row.name, row.operator_id): dict(row.facts)
            for row in db.session.scalars(select(RecordedResource))
        }
    # What the panel recorded is what exists: the VM ids, bucket ids and key ids match.
    assert {f["vmid"] for (k, _n, _o), f in recorded.items() if k == "machine"} == set(
        fake_pve.owned()
    )
    assert {f["bucket_id"] for (k, _n, _o), f in recorded.items() if k == "s3_bucket"} == set(
        garage.buckets
    )
    assert {f["access_key_id"] for (k, _n, _o), f in recorded.items() if k == "s3_key"} == set(
        garage.keys
    )
    for slug in OPERATORS:  # each key reads and writes its own service's buckets only
        for service in MACHINES:
            key = garage.key_named(f"{slug}-{service}")
            assert key is not None
            granted = {garage.buckets[b].alias for b, p in key.perms.items() if p["write"]}
            assert granted == {b for b in want_buckets if b.startswith(f"{slug}-{service}")}
    checked = sum(vms.values()) + sum(buckets.values()) + sum(keys.values())
    creations = Counter(
        kind
        for request, kind in fake_pve.faults.hits + garage.faults.hits
        if any(re.search(p, request) for p in (CLONE, CREATE_BUCKET, CREATE_KEY))
    )
    deployed = (fake_pve.faults.summary(), garage.faults.summary())

    provider = Api(client, factory.token(factory.provider()))
    deletions = {}
    for operator_id in range(1, len(OPERATORS) + 1):
        answer = client.delete(f"/api/v1/operators/{operator_id}", headers=provider.headers)
        assert answer.status_code == 202, answer.get_json()
        deletions[operator_id] = answer.get_json()["id"]
    wait_for_jobs(app)
    for deletion in deletions.values():
        status = provider.get(f"/deletions/{deletion}").get_json()
        assert (status["status"], status["leftovers"]) == ("succeeded", []), status
    assert fake_pve.owned() == {}
    assert garage.buckets == {}
    assert garage.keys == {}  # the deletions' short-lived cleanup keys too

    print(  # the counts the test reports
        f"\nfault injection, {len(OPERATORS)} operators, {RATE:.0%} of calls failing:"
        f"\n  deploy Proxmox: {deployed[0]}\n  deploy Garage:  {deployed[1]}"
        f"\n  in all, Proxmox: {fake_pve.faults.summary()}"
        f"\n  in all, Garage:  {garage.faults.summary()}"
        f"\n  faults on creating calls: {dict(sorted(creations.items()))}"
        f"\n  resources checked after deploying: {sum(vms.values())} VMs, "
        f"{sum(buckets.values())} buckets, {sum(keys.values())} keys ({checked}); "
        "after deleting: none left"
    )
