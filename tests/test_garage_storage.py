"""S3 storage on (a fake) Garage: buckets and keys per service, keep or delete data, re-runs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from flask import Flask
from sqlalchemy import select

from fedipanel.db import db
from fedipanel.providers.garage import s3
from fedipanel.resources.models import RecordedResource
from fedipanel.storage.models import StorageKey
from tests.fakes.garage_admin import FakeGarage
from tests.helpers import Api, sample_config, wait_for_jobs
from tests.plugins.garage import garage_settings
from tests.plugins.machines import LoopbackMachines

# Starts programs of its own (sshd, nix, nixops4's fake): not in `make test-fast`.
pytestmark = pytest.mark.external

ALL = sample_config(
    services={
        "mastodon": {"enable": True},
        "pixelfed": {"enable": True},
        "peertube": {"enable": True},
    }
)
BUCKETS = {
    "mastodon": {"acme-mastodon"},
    "pixelfed": {"acme-pixelfed"},
    "peertube": {
        "acme-peertube-playlists",
        "acme-peertube-videos",
        "acme-peertube-exports",
        "acme-peertube-originals",
    },
}
PUBLIC = {"acme-mastodon", "acme-pixelfed", "acme-peertube-playlists", "acme-peertube-videos"}


@pytest.fixture
def record(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "nixops4-record.json"
    monkeypatch.setenv("FAKE_NIXOPS4_RECORD", str(path))
    return path


@pytest.fixture
def app_overrides(
    garage: FakeGarage, record: Path, loopback_machines: LoopbackMachines
) -> dict[str, Any]:
    return {**garage_settings(garage, S3_QUOTA_GIB="6"), **loopback_machines.settings()}


@pytest.fixture(autouse=True)
def _machines(app: Flask, operator_api: Api, loopback_machines: LoopbackMachines) -> None:
    loopback_machines.install(app)


def deploy(app: Flask, api: Api) -> dict[str, Any]:
    # The domain confirms the deployments of these tests that delete data.
    response = api.post("/deployments", {"confirm": "acme.example"})
    assert response.status_code == 202, response.get_json()
    wait_for_jobs(app)
    return dict(api.get(f"/deployments/{response.get_json()['id']}").get_json())


def creds(garage: FakeGarage, key_name: str) -> s3.Credentials:
    key = garage.key_named(key_name)
    assert key is not None
    return s3.Credentials(garage.s3_url, "garage", key.id, key.secret)


def with_services(**services: dict[str, Any]) -> dict[str, Any]:
    config = json.loads(json.dumps(ALL))
    config["services"].update(services)
    return config


def test_deploy_creates_exactly_each_services_buckets_and_keys_and_wires_them(
    app: Flask,
    operator_api: Api,
    garage: FakeGarage,
    record: Path,
) -> None:
    operator_api.put("/configuration", ALL)
    result = deploy(app, operator_api)
    assert result["status"] == "succeeded", result["error"]
    assert "S3 storage" not in result["simulated"]

    # Exactly the buckets and keys each service needs, each key on its own buckets only.
    assert {b.alias for b in garage.buckets.values()} == set().union(*BUCKETS.values())
    assert {k.name for k in garage.keys.values()} == {
        "acme-mastodon",
        "acme-pixelfed",
        "acme-peertube",
    }
    for service, names in BUCKETS.items():
        key = garage.key_named(f"acme-{service}")
        assert key is not None
        granted = {garage.buckets[bid].alias: perms for bid, perms in key.perms.items()}
        assert set(granted) == names
        assert all(p == {"read": True, "write": True, "owner": False} for p in granted.values())
    for bucket in garage.buckets.values():
        assert bucket.website == (bucket.alias in PUBLIC)
        assert bucket.quotas["maxSize"] == 6 * 1024**3 // 6  # the operator's quota, split
        assert garage.objects(bucket.alias) == []  # the probe cleaned up after itself
        if bucket.alias in PUBLIC:
            rules = garage.root.get_bucket_cors(Bucket=bucket.alias)["CORSRules"]
            assert rules[0]["AllowedMethods"] == ["GET", "HEAD"]

    # Garage enforces the permissions: Mastodon's key cannot touch Pixelfed's bucket.
    mastodon = s3.client(creds(garage, "acme-mastodon"))
    mastodon.put_object(Bucket="acme-mastodon", Key="media/a.png", Body=b"png")
    with pytest.raises(ClientError, match="AccessDenied"):
        mastodon.put_object(Bucket="acme-pixelfed", Key="x", Body=b"x")
    with pytest.raises(ClientError, match="AccessDenied"):
        mastodon.get_object(Bucket="acme-peertube-videos", Key="x")

    # The NixOS values point at the buckets; no secret anywhere in the deployment JSON.
    document = json.loads(record.read_text())["document"]
    machines = document["machines"]
    mastodon_opts = machines["mastodon"]["nixos"]["services"]["mastodon"]
    assert mastodon_opts["extraConfig"]["S3_BUCKET"] == "acme-mastodon"
    assert mastodon_opts["extraConfig"]["S3_ENDPOINT"] == garage.s3_url
    assert mastodon_opts["extraConfig"]["S3_REGION"] == "garage"
    assert mastodon_opts["extraEnvFiles"] == ["/var/lib/fedipanel/keys/mastodon-s3.env"]
    pixelfed = machines["pixelfed"]["nixos"]["services"]["pixelfed"]
    assert pixelfed["settings"]["AWS_BUCKET"] == "acme-pixelfed"
    assert pixelfed["settings"]["FILESYSTEM_CLOUD"] == "s3"
    storage = machines["peertube"]["nixos"]["services"]["peertube"]["settings"]["object_storage"]
    assert storage["web_videos"]["bucket_name"] == "acme-peertube-videos"
    assert storage["streaming_playlists"]["bucket_name"] == "acme-peertube-playlists"
    text = json.dumps(document)
    log = "\n".join(result["log"])
    with app.app_context():
        facts = json.dumps(
            [(r.spec, r.facts) for r in db.session.scalars(select(RecordedResource))]
        )
        stored = db.session.scalars(select(StorageKey)).all()
        assert {row.name for row in stored} == {"acme-mastodon", "acme-pixelfed", "acme-peertube"}
    for key in garage.keys.values():
        assert key.secret not in text
        assert key.secret not in log
        assert key.secret not in facts
        assert all(key.secret not in row.secret_encrypted for row in stored)
    assert "probe passed" in log


def test_a_rerun_creates_nothing_twice_even_when_the_records_are_lost(
    app: Flask,
    operator_api: Api,
    garage: FakeGarage,
) -> None:
    operator_api.put("/configuration", ALL)
    assert deploy(app, operator_api)["status"] == "succeeded"
    buckets, keys = dict(garage.buckets), {k: v.secret for k, v in garage.keys.items()}
    garage.calls.clear()
    assert deploy(app, operator_api)["status"] == "succeeded"
    assert "CreateBucket" not in garage.operations()
    assert "CreateKey" not in garage.operations()
    assert "GetKeyInfo" not in garage.operations()  # the panel kept the secrets itself

    with app.app_context():  # a worker died before recording anything: found by alias and name
        for model in (RecordedResource, StorageKey):
            for row in db.session.scalars(select(model)):
                db.session.delete(row)
        db.session.commit()
    garage.calls.clear()
    assert deploy(app, operator_api)["status"] == "succeeded"
    assert "CreateBucket" not in garage.operations()
    assert "CreateKey" not in garage.operations()
    assert garage.buckets.keys() == buckets.keys()
    assert {k: v.secret for k, v in garage.keys.items()} == keys


def test_disabling_with_keep_data_keeps_everything_and_enabling_again_finds_it(
    app: Flask,
    operator_api: Api,
    garage: FakeGarage,
    client: Any,
) -> None:
    operator_api.put("/configuration", ALL)
    assert deploy(app, operator_api)["status"] == "succeeded"
    key_id = creds(garage, "acme-pixelfed").access_key_id
    s3.client(creds(garage, "acme-pixelfed")).put_object(
        Bucket="acme-pixelfed", Key="photo.jpg", Body=b"jpg"
    )

    operator_api.put("/configuration", with_services(pixelfed={"enable": False}))
    assert operator_api.get("/configuration").get_json()["services"]["pixelfed"]["keepData"]
    changes = operator_api.post("/plan").get_json()["changes"]
    storage = {(c["kind"], c["name"]): c for c in changes if c["kind"] in ("s3_bucket", "s3_key")}
    assert storage[("s3_bucket", "acme-pixelfed")]["action"] == "keep"
    assert storage[("s3_bucket", "acme-pixelfed")]["note"] == "keep data"
    assert storage[("s3_key", "acme-pixelfed")]["note"] == "keep data"
    machine = next(c for c in changes if c["kind"] == "machine" and c["name"] == "pixelfed")
    assert (machine["action"], machine["data"]) == ("update", "keep")  # kept with its disk
    result = deploy(app, operator_api)
    assert result["status"] == "succeeded", result["error"]
    assert "pixelfed: data kept: acme-pixelfed, acme-pixelfed left as they are" in result["log"]
    assert garage.objects("acme-pixelfed") == ["photo.jpg"]
    assert garage.key_named("acme-pixelfed") is not None

    client.post("/login", data={"email": "op@acme.example", "password": "correct horse battery"})
    page = client.get(f"/deployments/{result['id']}").get_data(as_text=True)
    assert 'data-choice="keep"' in page
    assert "data kept" in page

    operator_api.put("/configuration", ALL)
    changes = operator_api.post("/plan").get_json()["changes"]
    again = [c for c in changes if c["name"] == "acme-pixelfed"]
    assert {c["action"] for c in again} == {"keep"}
    assert all("note" not in c for c in again)
    garage.calls.clear()
    assert deploy(app, operator_api)["status"] == "succeeded"
    assert "CreateBucket" not in garage.operations()
    assert creds(garage, "acme-pixelfed").access_key_id == key_id
    assert (
        s3.client(creds(garage, "acme-pixelfed"))
        .get_object(Bucket="acme-pixelfed", Key="photo.jpg")["Body"]
        .read()
        == b"jpg"
    )


def test_disabling_with_delete_data_empties_and_deletes_buckets_and_key(
    app: Flask,
    operator_api: Api,
    garage: FakeGarage,
) -> None:
    operator_api.put("/configuration", ALL)
    assert deploy(app, operator_api)["status"] == "succeeded"
    peertube = s3.client(creds(garage, "acme-peertube"))
    for i in range(3):
        peertube.put_object(Bucket="acme-peertube-videos", Key=f"v{i}.mp4", Body=b"mp4")

    operator_api.put("/configuration", with_services(peertube={"enable": False, "keepData": False}))
    changes = operator_api.post("/plan").get_json()["changes"]
    deleted = {
        c["name"]: c
        for c in changes
        if c["action"] == "delete" and c["kind"] in ("s3_bucket", "s3_key")
    }
    assert set(deleted) == BUCKETS["peertube"] | {"acme-peertube"}
    assert {c["note"] for c in deleted.values()} == {"delete (data deleted)"}
    result = deploy(app, operator_api)
    assert result["status"] == "succeeded", result["error"]
    assert "peertube: bucket acme-peertube-videos emptied (3 objects) and deleted" in result["log"]
    assert "peertube: key acme-peertube deleted" in result["log"]
    assert {b.alias for b in garage.buckets.values()} == BUCKETS["mastodon"] | BUCKETS["pixelfed"]
    assert {k.name for k in garage.keys.values()} == {"acme-mastodon", "acme-pixelfed"}
    with app.app_context():
        assert {r.service for r in db.session.scalars(select(StorageKey))} == {
            "mastodon",
            "pixelfed",
        }
    after = operator_api.post("/plan").get_json()["changes"]
    assert not [c for c in after if "peertube" in c["name"]]


def test_garage_unreachable_fails_clearly_before_nixops4(
    app: Flask,
    operator_api: Api,
    garage: FakeGarage,
    record: Path,
) -> None:
    garage.admin_server.shutdown()
    garage.admin_server.server_close()
    operator_api.put("/configuration", ALL)
    result = deploy(app, operator_api)
    assert result["status"] == "failed"
    assert "S3 storage: Garage admin API at" in result["error"]
    assert "is unreachable" in result["error"]
    assert not record.exists()  # nixops4 never ran


def test_a_refusal_midway_leaves_everything_recorded_and_the_next_run_finishes(
    app: Flask,
    operator_api: Api,
    garage: FakeGarage,
    record: Path,
) -> None:
    garage.fail_next["CreateKey"] = (400, "InvalidRequest")
    operator_api.put("/configuration", ALL)
    result = deploy(app, operator_api)
    assert result["status"] == "failed"
    assert "Garage refused CreateKey (400 InvalidRequest)" in result["error"]
    assert not record.exists()
    with app.app_context():
        recorded = {
            r.name: r.facts
            for r in db.session.scalars(
                select(RecordedResource).where(RecordedResource.kind == "s3_bucket")
            )
        }
    assert set(recorded) == {b.alias for b in garage.buckets.values()}
    assert all(facts["bucket_id"] in garage.buckets for facts in recorded.values())
    garage.calls.clear()
    assert deploy(app, operator_api)["status"] == "succeeded"
    assert "CreateBucket" not in garage.operations()
    assert garage.operations().count("CreateKey") == 3


def test_fake_garage_rejects_what_garage_rejects(garage: FakeGarage) -> None:
    from fedipanel.providers.garage.admin import GarageAdmin, GarageError

    admin = GarageAdmin(garage.admin_url, garage.token)
    with pytest.raises(GarageError, match="unknown field `bogus`"):
        admin._call("POST", "CreateBucket", body={"globalAlias": "a-b-c", "bogus": 1})
    with pytest.raises(GarageError, match="unknown query parameter"):
        admin._call("GET", "GetBucketInfo", {"name": "x"})
    with pytest.raises(GarageError, match="unknown API endpoint"):
        admin._call("POST", "CreateBuckets", body={})
    with pytest.raises(GarageError, match="404 NoSuchBucket"):
        admin._call("POST", "DeleteBucket", {"id": "0" * 64})
    admin.delete_bucket("0" * 64)  # gone already (a retry after a lost answer): done
    admin.create_bucket("a-b-c")
    with pytest.raises(GarageError, match="409 BucketAlreadyExists"):
        admin.create_bucket("a-b-c")
    with pytest.raises(GarageError, match="refused the admin token"):
        GarageAdmin(garage.admin_url, "wrong").health()
