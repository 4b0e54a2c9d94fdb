"""S3 usage sampled from (a fake) Garage: after deployments that change buckets, and daily."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from fedipanel.core.usage import Metric, Sample
from fedipanel.db import db
from fedipanel.settings import effective
from fedipanel.usage import recording, sampling
from fedipanel.usage.models import UsageSample
from tests.fakes.garage_admin import FakeGarage
from tests.helpers import Api, Factory, sample_config, wait_for_jobs
from tests.plugins.garage import garage_settings

DAY = timedelta(days=1)


@pytest.fixture
def app_overrides(garage: FakeGarage) -> dict[str, Any]:
    return garage_settings(garage)


@pytest.fixture
def operator(factory: Factory) -> int:
    return factory.operator("op@acme.example", slug="acme")


@pytest.fixture
def api(client: FlaskClient, factory: Factory, operator: int) -> Api:
    return Api(client, factory.token(operator))


def deploy(app: Flask, api: Api, config: dict[str, Any]) -> None:
    api.put("/configuration", config)
    response = api.post("/deployments", {"confirm": "acme.example"})
    assert response.status_code == 202, response.get_json()
    wait_for_jobs(app)
    latest = api.get("/deployments").get_json()["deployments"][0]
    assert latest["status"] == "succeeded", latest["error"]


def s3_samples(app: Flask, operator_id: int) -> list[Sample]:
    with app.app_context():
        rows = db.session.execute(
            select(UsageSample.at, UsageSample.value)
            .where(UsageSample.operator_id == operator_id, UsageSample.metric == Metric.S3_BYTES)
            .order_by(UsageSample.at, UsageSample.id)
        ).all()
    return [Sample(row.at, row.value) for row in rows]


def sample(app: Flask, now: datetime) -> sampling.Sampled:
    with app.app_context():
        return sampling.sample_storage(effective.current().garage, now, DAY)


def test_the_daily_sample_reads_what_the_buckets_hold_from_garage(
    app: Flask, api: Api, operator: int, garage: FakeGarage
) -> None:
    deploy(app, api, sample_config())
    # Buckets were created: the deployment sampled them at once, empty.
    assert [s.value for s in s3_samples(app, operator)] == [0]
    deployed_at = s3_samples(app, operator)[0].at
    garage.root.put_object(Bucket="acme-mastodon", Key="media/a.png", Body=b"x" * 1500)
    garage.root.put_object(Bucket="acme-peertube-videos", Key="v.mp4", Body=b"y" * 250_000)
    garage.calls.clear()

    assert sample(app, deployed_at + DAY / 2).operators == []  # sampled less than a day ago
    assert garage.calls == []
    tomorrow = deployed_at + DAY
    assert sample(app, tomorrow).operators == [operator]
    assert s3_samples(app, operator)[-1] == Sample(tomorrow, 251_500)
    # Each of its buckets was asked about by its Garage id.
    asked = {query["id"] for name, query, _body in garage.calls if name == "GetBucketInfo"}
    assert asked == {b.id for b in garage.buckets.values()}

    # An unchanged level is sampled again the next day: it says when it was last known.
    assert sample(app, tomorrow + DAY).operators == [operator]
    assert [s.value for s in s3_samples(app, operator)] == [0, 251_500, 251_500]


def test_a_deployment_that_deletes_buckets_samples_what_is_left(
    app: Flask, api: Api, operator: int, garage: FakeGarage
) -> None:
    deploy(app, api, sample_config())
    garage.root.put_object(Bucket="acme-mastodon", Key="media/a.png", Body=b"x" * 1500)
    garage.root.put_object(Bucket="acme-peertube-videos", Key="v.mp4", Body=b"y" * 250_000)
    config = sample_config()
    config["services"]["mastodon"] = {"enable": False, "keepData": False}
    deploy(app, api, config)
    assert garage.bucket_named("acme-mastodon") is None
    assert s3_samples(app, operator)[-1].value == 250_000


def test_garage_refusing_leaves_the_sample_for_the_next_check(
    app: Flask, api: Api, operator: int, garage: FakeGarage
) -> None:
    deploy(app, api, sample_config())
    before = s3_samples(app, operator)
    later = before[-1].at + 2 * DAY
    garage.fail_next["GetBucketInfo"] = (400, "InvalidRequest")
    done = sample(app, later)
    assert done.operators == []
    assert done.error is not None
    assert "GetBucketInfo" in done.error
    assert s3_samples(app, operator) == before
    assert sample(app, later + timedelta(hours=1)).operators == [operator]


def test_an_operator_whose_buckets_are_gone_drops_to_zero_and_is_then_left_alone(
    app: Flask, factory: Factory
) -> None:
    gone = factory.operator("gone@shop.example", slug="shop")
    with app.app_context():
        recording.record_levels(gone, {Metric.S3_BYTES: 5000}, datetime(2025, 11, 1))
        assert sampling.operators_due(datetime(2025, 11, 3), DAY) == [gone]
    done = sample(app, datetime(2025, 11, 3))
    assert done.operators == [gone]
    assert s3_samples(app, gone)[-1] == Sample(datetime(2025, 11, 3), 0)
    with app.app_context():
        assert sampling.operators_due(datetime(2025, 12, 3), DAY) == []


def test_the_timers_queue_the_sampling_job_only_when_someone_is_due(
    app: Flask, api: Api, operator: int, garage: FakeGarage
) -> None:
    deploy(app, api, sample_config())
    garage.root.put_object(Bucket="acme-mastodon", Key="media/b.png", Body=b"z" * 4096)
    with app.app_context():
        assert sampling.enqueue_when_due() is False  # sampled by the deployment just now
    app.config["USAGE_SAMPLE_INTERVAL"] = 0  # every check finds the operator due
    with app.app_context():
        assert sampling.enqueue_when_due() is True
    wait_for_jobs(app)  # the embedded queue ran jobs.usage.sample_storage
    assert [s.value for s in s3_samples(app, operator)] == [0, 4096]


def test_checks_run_hourly_or_as_often_as_samples_are_wanted() -> None:
    assert sampling.check_every(86400) == 3600
    assert sampling.check_every(600) == 600
    assert sampling.check_every(0) == 1
