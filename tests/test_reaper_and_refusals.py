"""The reaper writes each failure once; real nixops4 never runs against simulated machines."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import event, select, update
from sqlalchemy.orm import ORMExecuteState, Session

from fedipanel.db import db
from fedipanel.deployments.models import Deployment, LogLine, Status
from fedipanel.deployments.reaper import INTERRUPTED, reap_stale_deployments
from fedipanel.settings import effective
from fedipanel.timeutil import utcnow
from tests.helpers import FAKES, Api, Factory, sample_config, wait_for_jobs

FAKE_NIXOPS4 = str(FAKES / "nixops4")


def test_row_another_reaper_failed_first_gets_no_second_log_line(
    app: Flask, factory: Factory
) -> None:
    operator_id = factory.operator()
    with app.app_context():
        stale = utcnow() - timedelta(seconds=app.config["STALE_AFTER"] + 5)
        row = Deployment(
            operator_id=operator_id, status=Status.RUNNING, started_at=stale, heartbeat_at=stale
        )
        db.session.add(row)
        db.session.commit()
        raced = []

        # A second reaper (another worker, the web process) fails the row between this
        # reaper's look at it and its own write.
        def other_reaper_first(state: ORMExecuteState) -> None:
            if state.is_update and not raced:
                raced.append(True)
                state.session.execute(
                    update(Deployment)
                    .where(Deployment.id == row.id)
                    .values(status=Status.FAILED, error=INTERRUPTED)
                )
                state.session.add(LogLine(deployment_id=row.id, line=f"FediPanel: {INTERRUPTED}"))
                state.session.flush()

        event.listen(Session, "do_orm_execute", other_reaper_first)
        try:
            assert reap_stale_deployments() == 0
        finally:
            event.remove(Session, "do_orm_execute", other_reaper_first)
        assert raced
        lines = db.session.scalars(select(LogLine.line).where(LogLine.deployment_id == row.id))
        assert list(lines) == [f"FediPanel: {INTERRUPTED}"]


@pytest.mark.parametrize("app_overrides", [{"NIXOPS4": FAKE_NIXOPS4}])
def test_real_nixops4_with_simulated_machines_is_refused_before_anything_starts(
    app: Flask, operator_api: Api
) -> None:
    operator_api.put("/configuration", sample_config())
    response = operator_api.post("/deployments")
    assert response.status_code == 422
    error = response.get_json()["errors"][0]
    assert error["loc"] == ["machines"]
    assert "Proxmox" in error["msg"]
    assert "pool of pre-deployed VMs" in error["msg"]
    assert operator_api.get("/deployments").get_json()["deployments"] == []


@pytest.mark.parametrize("app_overrides", [{"NIXOPS4": "/nonexistent/nixops4"}])
def test_misconfigured_nixops4_with_simulated_machines_says_both(operator_api: Api) -> None:
    operator_api.put("/configuration", sample_config())
    response = operator_api.post("/deployments")
    assert response.status_code == 422
    message = response.get_json()["errors"][0]["msg"]
    assert "/nonexistent/nixops4" in message
    assert "machines are only simulated" in message


def test_job_refuses_real_nixops4_when_machines_went_away_after_queueing(
    app: Flask, operator_api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    import jobs.deploy

    operator_api.put("/configuration", sample_config())
    original = jobs.deploy.run_deployment

    def configured_meanwhile(deployment_id: int) -> Any:
        app.config["NIXOPS4"] = FAKE_NIXOPS4
        effective.forget()
        return original(deployment_id)

    monkeypatch.setattr(jobs.deploy, "run_deployment", configured_meanwhile)
    started = operator_api.post("/deployments")
    assert started.status_code == 202
    wait_for_jobs(app)
    deployment = operator_api.get(f"/deployments/{started.get_json()['id']}").get_json()
    assert deployment["status"] == "failed"
    assert "machines are only simulated" in deployment["error"]
    assert not any(line.startswith("Applying deployment") for line in deployment["log"])
