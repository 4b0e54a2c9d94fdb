"""Usage: recorded after deployments, shown on the dashboard, exported by the API and the CLI."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from fedipanel.core.usage import MACHINE_METRICS, Metric
from fedipanel.db import db
from fedipanel.resources.models import RecordedResource
from fedipanel.usage import recording
from fedipanel.usage.models import UsageSample
from fedipanel.usage.report import COLUMNS
from tests.helpers import Api, Auth, Factory, sample_config, wait_for_jobs

# Default sizes: Mastodon 4 vCPU / 8192 MiB / 40 GiB, PeerTube 4 / 8192 / 60.
BOTH = {Metric.VMS: 2, Metric.CORES: 8, Metric.MEMORY_MIB: 16384, Metric.DISK_GIB: 100}
MASTODON = {Metric.VMS: 1, Metric.CORES: 4, Metric.MEMORY_MIB: 8192, Metric.DISK_GIB: 40}


def levels(app: Flask, operator_id: int) -> dict[Metric, int | None]:
    with app.app_context():
        found = {m: recording.latest_level(operator_id, m) for m in MACHINE_METRICS}
    return {metric: sample.value if sample else None for metric, sample in found.items()}


def sample_count(app: Flask) -> int:
    with app.app_context():
        return int(db.session.scalar(select(func.count()).select_from(UsageSample)) or 0)


def deploy(app: Flask, api: Api, config: dict[str, Any]) -> None:
    api.put("/configuration", config)
    response = api.post("/deployments", {"confirm": "acme.example"})
    assert response.status_code == 202, response.get_json()
    wait_for_jobs(app)
    listed = api.get("/deployments").get_json()["deployments"]
    assert listed[0]["status"] == "succeeded", listed[0]["error"]


def record(app: Flask, operator_id: int, at: datetime, **values: int) -> None:
    with app.app_context():
        recording.record_levels(operator_id, {Metric(k): v for k, v in values.items()}, at)


def test_deployments_record_what_the_machines_use_whenever_it_changes(
    app: Flask, client: FlaskClient, factory: Factory
) -> None:
    operator_id = factory.operator("op@acme.example", slug="acme")
    operator_api = Api(client, factory.token(operator_id))
    assert levels(app, operator_id) == dict.fromkeys(MACHINE_METRICS)
    deploy(app, operator_api, sample_config())
    assert levels(app, operator_id) == BOTH
    count = sample_count(app)

    deploy(app, operator_api, sample_config())  # nothing changed: nothing new to record
    assert sample_count(app) == count

    without_peertube = sample_config()
    without_peertube["services"]["peertube"] = {"enable": False}  # kept: shut down, disk kept
    deploy(app, operator_api, without_peertube)
    assert levels(app, operator_id) == {**BOTH, Metric.CORES: 4, Metric.MEMORY_MIB: 8192}
    assert sample_count(app) == count + 2

    without_peertube["services"]["peertube"]["keepData"] = False  # now deleted with its disk
    operator_api.put("/configuration", without_peertube)
    assert operator_api.post("/deployments", {"confirm": "acme.example"}).status_code == 202
    wait_for_jobs(app)
    assert levels(app, operator_id) == MASTODON
    assert sample_count(app) == count + 4


def test_a_stopped_machine_counts_its_disk_but_not_its_cores_and_memory(
    app: Flask, factory: Factory
) -> None:
    operator_id = factory.operator("op@acme.example", slug="acme")
    with app.app_context():
        for name, running in (("mastodon", True), ("peertube", False)):
            spec = {"cores": 4, "memory_mib": 8192, "disk_gib": 50, "running": running}
            db.session.add(
                RecordedResource(operator_id=operator_id, kind="machine", name=name, spec=spec)
            )
        db.session.commit()
        recording.record_machines(operator_id, datetime(2025, 11, 3))
    assert levels(app, operator_id) == {
        Metric.VMS: 2,
        Metric.CORES: 4,
        Metric.MEMORY_MIB: 8192,
        Metric.DISK_GIB: 100,
    }


@pytest.fixture
def history(app: Flask, factory: Factory) -> int:
    """An operator with samples around November 2025, and the exact totals they make."""
    operator_id = factory.operator("op@acme.example", slug="acme")
    record(app, operator_id, datetime(2025, 10, 20), vms=1, cores=4, memory_mib=8192, disk_gib=40)
    record(app, operator_id, datetime(2025, 11, 10, 12), s3_bytes=2 * 2**30)
    record(app, operator_id, datetime(2025, 11, 16), vms=2, cores=8, disk_gib=100)
    record(app, operator_id, datetime(2025, 12, 1), vms=5, cores=64, s3_bytes=0)
    return operator_id


NOVEMBER = {
    "month": "2025-11",
    "vms": 2,
    "vcpuHours": 4 * 15 * 24 + 8 * 15 * 24,
    "memoryGibHours": 8 * 30 * 24,
    "diskGibDays": 40 * 15 + 100 * 15,
    "s3GibDays": 2 * 20.5,
}


@pytest.fixture
def provider_api(client: FlaskClient, factory: Factory) -> Api:
    return Api(client, factory.token(factory.provider()))


def test_api_exports_a_month_as_json(history: int, provider_api: Api) -> None:
    response = provider_api.get(f"/operators/{history}/usage?month=2025-11")
    assert response.status_code == 200
    assert response.get_json() == {"operator": history, **NOVEMBER}


def test_api_exports_a_month_as_csv(history: int, provider_api: Api) -> None:
    response = provider_api.client.get(
        f"/api/v1/operators/{history}/usage?month=2025-11",
        headers={**provider_api.headers, "Accept": "text/csv"},
    )
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert 'filename="usage-acme-2025-11.csv"' in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert rows[0] == list(COLUMNS)
    assert len(rows) == 2
    exported = dict(zip(rows[0], rows[1], strict=True))
    assert int(exported["operator"]) == history
    assert exported["month"] == "2025-11"
    for key in COLUMNS[2:]:
        assert float(exported[key]) == NOVEMBER[key]


def test_api_counts_the_month_in_progress_up_to_now(
    history: int, provider_api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("fedipanel.web.api.usage.utcnow", lambda: datetime(2025, 11, 3, 12))
    found = provider_api.get(f"/operators/{history}/usage").get_json()
    assert found["month"] == "2025-11"
    assert found["vcpuHours"] == 4 * 2.5 * 24
    assert found["s3GibDays"] == 0
    later = provider_api.get(f"/operators/{history}/usage?month=2026-01").get_json()
    assert (later["vms"], later["vcpuHours"]) == (0, 0)


@pytest.mark.parametrize("month", ["2025-13", "2025-1", "nov", "", "2025-11-01", "0001-01"])
def test_api_refuses_a_malformed_month_at_its_field(
    history: int, provider_api: Api, month: str
) -> None:
    response = provider_api.get(f"/operators/{history}/usage?month={month}")
    assert response.status_code == 422
    error = response.get_json()["errors"][0]
    assert error["loc"] == ["month"]
    assert "month" in error["msg"]


def test_api_answers_404_for_an_unknown_operator(
    app: Flask, factory: Factory, client: FlaskClient
) -> None:
    provider_id = factory.provider()
    api = Api(client, factory.token(provider_id))
    for operator_id in (provider_id, 9999):
        response = api.get(f"/operators/{operator_id}/usage?month=2025-11")
        assert response.status_code == 404
        assert response.get_json()["errors"][0]["loc"] == ["operator"]


def test_api_usage_is_for_provider_tokens_only(
    history: int, client: FlaskClient, factory: Factory
) -> None:
    own = Api(client, factory.token(history))
    assert own.get(f"/operators/{history}/usage?month=2025-11").status_code == 403
    assert client.get(f"/api/v1/operators/{history}/usage?month=2025-11").status_code == 401


def test_openapi_describes_the_export_with_the_same_columns(client: FlaskClient) -> None:
    document = client.get("/api/v1/openapi.json").get_json()
    schema = document["components"]["schemas"]["MonthUsage"]
    assert set(schema["properties"]) == set(COLUMNS)
    assert schema["required"] == list(COLUMNS)


def test_usage_command_prints_a_month_or_its_csv(history: int, runner: Any) -> None:
    result = runner.invoke(
        args=["fedipanel", "usage", "--email", "op@acme.example", "--month", "2025-11"]
    )
    assert result.exit_code == 0, result.output
    assert "Usage of op@acme.example in 2025-11:" in result.output
    assert "vCPU-hours           4320.0" in result.output
    assert "VMs (most at once)   2" in result.output

    result = runner.invoke(
        args=["fedipanel", "usage", "--email", "op@acme.example", "--month", "2025-11", "--csv"]
    )
    assert result.exit_code == 0, result.output
    rows = list(csv.reader(io.StringIO(result.output)))
    assert rows == [
        list(COLUMNS),
        [str(history), "2025-11", "2", "4320.0", "5760.0", "2100.0", "41.0"],
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--email", "op@acme.example", "--month", "2025-13"], "calendar month written YYYY-MM"),
        (["--email", "nobody@acme.example", "--month", "2025-11"], "no operator with email"),
    ],
)
def test_usage_command_refuses_bad_input_clearly(
    history: int, runner: Any, args: list[str], message: str
) -> None:
    result = runner.invoke(args=["fedipanel", "usage", *args])
    assert result.exit_code == 2
    assert message in result.output


def test_dashboard_shows_this_month_so_far(
    history: int, client: FlaskClient, auth: Auth, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("fedipanel.web.configurations.utcnow", lambda: datetime(2025, 11, 16, 12))
    auth.login("op@acme.example")
    page = client.get("/dashboard").get_data(as_text=True)
    assert "Usage in 2025-11 so far" in page
    figures = {
        name: page.split(f'id="usage-{name}">')[1].split("<")[0]
        for name in ("vms", "vcpu-hours", "memory-gib-hours", "disk-gib-days", "s3-gib-days")
    }
    assert figures == {
        "vms": "2",
        "vcpu-hours": "1,536.00",  # 15 days at 4, then 12 hours at 8
        "memory-gib-hours": "2,976.00",
        "disk-gib-days": "650.00",
        "s3-gib-days": "12.00",
    }
    # In UTC (no zone chosen), written the English way (CLDR puts a narrow space before PM).
    assert "from Nov 1, 2025 to Nov 16, 2025, 12:00:00\u202fPM." in page
