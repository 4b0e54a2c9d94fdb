"""Connecting Garage on the settings page, and pre-configured buckets (UI, API, CLI)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from fedipanel.db import db
from fedipanel.provider_settings.models import ProviderSetting
from fedipanel.providers.garage import s3
from fedipanel.providers.garage.admin import GarageAdmin
from fedipanel.settings import effective
from fedipanel.storage.models import AssignedBucket
from tests.fakes.garage_admin import FakeGarage
from tests.helpers import Api, Auth, Factory, sample_config, wait_for_jobs
from tests.plugins.garage import garage_settings
from tests.plugins.machines import LoopbackMachines


@pytest.fixture
def provider(client: FlaskClient, auth: Auth, factory: Factory) -> FlaskClient:
    factory.provider()
    auth.login("admin@provider.example")
    return client


def _form(fake: FakeGarage, **overrides: str) -> dict[str, str]:
    values = {**garage_settings(fake), "S3_REGION": "garage", "S3_QUOTA_GIB": "50"}
    values.update(overrides)
    return values


def test_provider_connects_garage_and_the_token_is_encrypted_and_never_shown(
    app: Flask,
    provider: FlaskClient,
    garage: FakeGarage,
) -> None:
    assert provider.post("/provider/settings/garage", data=_form(garage)).status_code == 302
    page = provider.get("/provider/settings/garage").get_data(as_text=True)
    assert garage.token not in page
    assert f'value="{garage.s3_url}"' in page
    with app.app_context():
        row = db.session.get(ProviderSetting, "GARAGE_ADMIN_TOKEN")
        assert row is not None
        assert row.is_secret
        assert garage.token not in row.value
        assert effective.current().provider["GARAGE_ADMIN_TOKEN"].text == garage.token
        assert garage.token in effective.current().secrets  # redacted from deployment logs

    answer = provider.post("/provider/settings/garage/test").get_data(as_text=True)
    assert "works" in answer.lower() or "ok" in answer.lower(), answer
    assert garage.keys == {}  # the short-lived test key is gone again


def test_connection_test_says_what_is_wrong(
    app: Flask,
    provider: FlaskClient,
    garage: FakeGarage,
) -> None:
    anyway = {"save_anyway": "yes"}
    provider.post(
        "/provider/settings/garage", data=_form(garage, GARAGE_ADMIN_TOKEN="wrong", **anyway)
    )
    answer = provider.post("/provider/settings/garage/test").get_data(as_text=True)
    assert "refused the admin token" in answer

    provider.post(
        "/provider/settings/garage",
        data=_form(garage, S3_REGION="us-east-1", GARAGE_ADMIN_TOKEN="", **anyway),
    )
    with app.app_context():  # a blank secret keeps the stored one
        assert effective.current().provider["GARAGE_ADMIN_TOKEN"].text == "wrong"
    provider.post("/provider/settings/garage", data=_form(garage, S3_REGION="us-east-1", **anyway))
    answer = provider.post("/provider/settings/garage/test").get_data(as_text=True)
    assert "the region &#39;us-east-1&#39; is wrong" in answer
    assert "expected garage" in answer

    provider.post(
        "/provider/settings/garage",
        data=_form(garage, GARAGE_ADMIN_URL="http://127.0.0.1:9", S3_REGION="garage", **anyway),
    )
    answer = provider.post("/provider/settings/garage/test").get_data(as_text=True)
    assert "http://127.0.0.1:9 is unreachable" in answer


def test_bad_garage_settings_are_refused_at_the_field(
    app: Flask,
    provider: FlaskClient,
    garage: FakeGarage,
) -> None:
    response = provider.post(
        "/provider/settings/garage",
        data=_form(garage, S3_ENDPOINT="https://key:secret@s3.example", S3_QUOTA_GIB="lots"),
    )
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert "must not contain credentials" in body
    assert "whole number of GiB" in body
    with app.app_context():
        assert db.session.scalars(select(ProviderSetting)).all() == []


# -- pre-configured buckets ------------------------------------------------------------------


@pytest.fixture
def record(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "nixops4-record.json"
    monkeypatch.setenv("FAKE_NIXOPS4_RECORD", str(path))
    return path


@pytest.fixture
def existing(garage: FakeGarage) -> dict[str, str]:
    """A bucket somebody made on Garage before, with its own key."""
    admin = GarageAdmin(garage.admin_url, garage.token)
    bucket = admin.create_bucket("legacy-media")
    key = admin.create_key("legacy")
    admin.allow(bucket.id, key.id, read=True, write=True)
    assert key.secret is not None
    return {
        "endpoint": garage.s3_url,
        "region": "garage",
        "bucket": "legacy-media",
        "accessKeyId": key.id,
        "secretAccessKey": key.secret,
    }


def _deploy(app: Flask, api: Api) -> dict[str, Any]:
    # The domain confirms the deployments of these tests that delete data.
    response = api.post("/deployments", {"confirm": "acme.example"})
    assert response.status_code == 202, response.get_json()
    wait_for_jobs(app)
    return dict(api.get(f"/deployments/{response.get_json()['id']}").get_json())


@pytest.mark.parametrize("with_garage", [True, False], ids=["garage", "no-garage"])
@pytest.mark.external
def test_preconfigured_bucket_via_api_is_used_checked_and_never_deleted(
    app: Flask,
    client: FlaskClient,
    factory: Factory,
    garage: FakeGarage,
    existing: dict[str, str],
    record: Path,
    with_garage: bool,
    loopback_machines: LoopbackMachines,
) -> None:
    app.config.update(loopback_machines.settings())
    if with_garage:
        app.config.update(garage_settings(garage))
    operator_id = factory.operator("op@acme.example", slug="acme")
    loopback_machines.install(app)
    operator = Api(client, factory.token(operator_id))
    provider = Api(client, factory.token(factory.provider()))
    assert operator.put(f"/operators/{operator_id}/buckets/mastodon", existing).status_code == 403
    answer = provider.put(f"/operators/{operator_id}/buckets/mastodon", existing)
    assert answer.status_code == 200, answer.get_json()
    assert "secretAccessKey" not in answer.get_json()
    listed = provider.get(f"/operators/{operator_id}/buckets").get_json()["buckets"]
    assert [b["bucket"] for b in listed] == ["legacy-media"]
    assert existing["secretAccessKey"] not in json.dumps(listed)

    operator.put("/configuration", sample_config())
    changes = operator.post("/plan").get_json()["changes"]
    assert ("s3_bucket", "legacy-media") in {(c["kind"], c["name"]) for c in changes}
    assert "acme-mastodon" not in {c["name"] for c in changes}
    result = _deploy(app, operator)
    assert result["status"] == "succeeded", result["error"]
    assert "pre-configured bucket legacy-media for mastodon: probe passed" in result["log"]
    assert garage.bucket_named("acme-mastodon") is None
    assert garage.key_named("acme-mastodon") is None
    document = json.loads(record.read_text())["document"]
    extra = document["machines"]["mastodon"]["nixos"]["services"]["mastodon"]["extraConfig"]
    assert extra["S3_BUCKET"] == "legacy-media"
    assert extra["S3_ENDPOINT"] == garage.s3_url
    assert existing["secretAccessKey"] not in json.dumps(document)
    assert existing["secretAccessKey"] not in json.dumps(result)

    s3.client(
        s3.Credentials(
            garage.s3_url, "garage", existing["accessKeyId"], existing["secretAccessKey"]
        )
    ).put_object(Bucket="legacy-media", Key="old.png", Body=b"png")
    config = sample_config()
    config["services"]["mastodon"] = {"enable": False, "keepData": False}
    operator.put("/configuration", config)
    change = next(
        c for c in operator.post("/plan").get_json()["changes"] if c["name"] == "legacy-media"
    )
    assert change["note"] == "pre-configured: bucket and data left as they are"
    result = _deploy(app, operator)
    assert result["status"] == "succeeded", result["error"]
    assert garage.objects("legacy-media") == ["old.png"]


@pytest.mark.external
def test_preconfigured_bucket_with_a_wrong_secret_fails_before_nixops4(
    app: Flask,
    client: FlaskClient,
    factory: Factory,
    garage: FakeGarage,
    existing: dict[str, str],
    record: Path,
    loopback_machines: LoopbackMachines,
) -> None:
    app.config.update(loopback_machines.settings())
    operator_id = factory.operator("op@acme.example", slug="acme")
    loopback_machines.install(app)
    operator = Api(client, factory.token(operator_id))
    provider = Api(client, factory.token(factory.provider()))
    provider.put(
        f"/operators/{operator_id}/buckets/peertube", {**existing, "secretAccessKey": "nope"}
    )
    operator.put("/configuration", sample_config())
    result = _deploy(app, operator)
    assert result["status"] == "failed"
    assert "bucket legacy-media: the secret access key is wrong" in result["error"]
    assert not record.exists()


def test_provider_api_validates_preconfigured_buckets(
    client: FlaskClient, factory: Factory, existing: dict[str, str]
) -> None:
    operator_id = factory.operator("op@acme.example", slug="acme")
    provider = Api(client, factory.token(factory.provider()))
    path = f"/operators/{operator_id}/buckets"
    bad = provider.put(f"{path}/mastodon", {**existing, "endpoint": "ftp://x"}).get_json()
    assert bad["errors"][0]["loc"] == ["endpoint"]
    assert provider.put(f"{path}/mastodon", {**existing, "extra": 1}).status_code == 422
    assert provider.put(f"{path}/friendica", existing).status_code == 422
    assert provider.put("/operators/999/buckets/mastodon", existing).status_code == 404
    assert provider.put(f"{path}/mastodon", existing).status_code == 200
    response = client.delete(f"/api/v1{path}/mastodon", headers=provider.headers)
    assert response.status_code == 204
    assert provider.get(path).get_json()["buckets"] == []


def test_provider_assigns_a_bucket_on_the_operators_page(
    app: Flask, provider: FlaskClient, factory: Factory, existing: dict[str, str]
) -> None:
    operator_id = factory.operator("op@acme.example", slug="acme")
    assert f"/provider/operators/{operator_id}/buckets" in provider.get(
        "/provider/operators"
    ).get_data(as_text=True)
    form = {
        "endpoint": existing["endpoint"],
        "region": "garage",
        "bucket": "legacy-media",
        "public_url": "",
        "access_key_id": existing["accessKeyId"],
        "secret": existing["secretAccessKey"],
    }
    bad = provider.post(
        f"/provider/operators/{operator_id}/buckets/pixelfed", data={**form, "bucket": "A"}
    )
    assert bad.status_code == 422
    assert "lowercase" in bad.get_data(as_text=True)
    response = provider.post(f"/provider/operators/{operator_id}/buckets/pixelfed", data=form)
    assert response.status_code == 302
    page = provider.get(f"/provider/operators/{operator_id}/buckets").get_data(as_text=True)
    assert "legacy-media" in page
    assert existing["secretAccessKey"] not in page
    with app.app_context():
        row = db.session.scalars(select(AssignedBucket)).one()
        assert existing["secretAccessKey"] not in row.secret_encrypted
    provider.post(
        f"/provider/operators/{operator_id}/buckets/pixelfed/remove", data={"confirm": "yes"}
    )
    with app.app_context():
        assert db.session.scalars(select(AssignedBucket)).all() == []


def test_assign_bucket_command_reads_the_secret_from_stdin(
    app: Flask, runner: Any, factory: Factory, existing: dict[str, str]
) -> None:
    from fedipanel.storage.records import assigned_credentials

    factory.operator("op@acme.example", slug="acme")
    args = [
        "fedipanel", "assign-bucket", "--email", "op@acme.example", "--service", "mastodon",
        "--endpoint", existing["endpoint"], "--region", "garage", "--bucket", "legacy-media",
        "--access-key-id", existing["accessKeyId"],
    ]  # fmt: skip
    result = runner.invoke(args=args, input=existing["secretAccessKey"] + "\n")
    assert result.exit_code == 0, result.output
    assert existing["secretAccessKey"] not in result.output
    with app.app_context():
        row = db.session.scalars(select(AssignedBucket)).one()
        assert (row.service, row.bucket) == ("mastodon", "legacy-media")
        assert assigned_credentials(row).secret_access_key == existing["secretAccessKey"]
    bad = runner.invoke(args=[*args[:-2], "--access-key-id", "k k"], input="x\n")
    assert bad.exit_code != 0
    assert "access_key_id" in bad.output
