"""Workers that die, are stopped or are missing: the deployment says so at once, honestly.

FEDIPANEL_STALE_AFTER is ten minutes here, so that no test can pass on a heartbeat gone stale:
what fails the deployment is RQ's own knowledge, the worker or the work horse itself.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest
from flask import Flask
from redis import Redis
from rq.command import send_stop_job_command

from fedipanel.db import db
from fedipanel.deployments.models import Deployment
from tests.helpers import Api, Auth
from tests.integration.test_redis_worker import FINISHED, deploy, fake_lines, read_pid
from tests.integration.workers import (
    Workers,
    deployment,
    is_alive,
    parent_of,
    wait_for_status,
    wait_until,
)

pytestmark = [
    pytest.mark.integration,
    pytest.mark.parametrize("stale_after", [600]),
    pytest.mark.usefixtures("machines"),
]

SLOW = {"mode": "slow", "delay": 60, "lines": 2}


def start_long_run(api: Api, workers: Workers, tmp_path: Path) -> tuple[int, int, int, int]:
    """Start a worker and a deployment whose nixops4 runs for minutes; return the ids and pids
    (deployment, worker, work horse, nixops4)."""
    pidfile = tmp_path / "nixops4.pid"
    worker = workers.start(pidfile=pidfile, **SLOW)
    deployment_id = deploy(api)
    wait_until(
        lambda: fake_lines(deployment(api, deployment_id)) == ["slow line 1 of 2"],
        20,
        "nixops4 to start",
    )
    nixops4_pid = read_pid(pidfile)
    horse = parent_of(nixops4_pid)
    assert horse is not None
    assert parent_of(horse) == worker.pid
    return deployment_id, worker.pid, horse, nixops4_pid


def test_killed_work_horse_fails_the_deployment_at_once_with_the_reason(
    operator_api: Api, workers: Workers, tmp_path: Path
) -> None:
    deployment_id, worker_pid, horse, nixops4_pid = start_long_run(operator_api, workers, tmp_path)

    os.kill(horse, signal.SIGKILL)

    state = wait_for_status(operator_api, deployment_id, FINISHED, timeout=30)
    assert state["status"] == "failed"
    assert state["error"] == "interrupted: the work horse running it was killed (signal 9)"
    assert state["log"][-1] == f"FediPanel: {state['error']}"
    wait_until(lambda: not is_alive(nixops4_pid), 5, "nixops4 to die with its work horse")
    assert is_alive(worker_pid)


def test_job_stopped_through_rq_fails_the_deployment_with_rqs_words(
    app: Flask, operator_api: Api, workers: Workers, tmp_path: Path, redis: Redis
) -> None:
    deployment_id, worker_pid, _horse, nixops4_pid = start_long_run(operator_api, workers, tmp_path)
    with app.app_context():
        job_id = db.session.get(Deployment, deployment_id).job_id

    send_stop_job_command(redis, job_id)

    state = wait_for_status(operator_api, deployment_id, FINISHED, timeout=30)
    assert state["status"] == "failed"
    assert state["error"].startswith("interrupted: the worker reports its job "), state["error"]
    assert "stopped" in state["error"]
    assert [line for line in state["log"] if line.startswith("FediPanel: interrupted")] == [
        f"FediPanel: {state['error']}"
    ]
    wait_until(lambda: not is_alive(nixops4_pid), 5, "nixops4 to stop")
    assert is_alive(worker_pid)


def test_orphaned_work_horse_stops_nixops4_and_fails_its_deployment(
    operator_api: Api, workers: Workers, tmp_path: Path
) -> None:
    deployment_id, worker_pid, horse, nixops4_pid = start_long_run(operator_api, workers, tmp_path)

    os.kill(worker_pid, signal.SIGKILL)

    state = wait_for_status(operator_api, deployment_id, FINISHED, timeout=30)
    assert state["status"] == "failed"
    assert state["error"] == (
        "interrupted: the worker process running this deployment died; its nixops4 was stopped"
    )
    wait_until(lambda: not is_alive(nixops4_pid), 10, "the orphan's nixops4 to stop")
    wait_until(lambda: not is_alive(horse), 10, "the orphaned work horse to exit")


def test_queued_deployment_without_a_worker_says_it_waits_for_one(
    operator_api: Api, workers: Workers, redis: Redis, auth: Auth
) -> None:
    deployment_id = deploy(operator_api)

    state = deployment(operator_api, deployment_id)
    assert state["status"] == "queued"
    assert state["waitingForWorker"] is True
    assert state["phase"].startswith("Waiting for a worker: none is running")
    listed = operator_api.get("/deployments").get_json()["deployments"]
    assert listed[0]["waitingForWorker"] is True
    auth.login("op@acme.example")
    page = auth.client.get(f"/deployments/{deployment_id}").get_data(as_text=True)
    assert 'id="no-worker"' in page
    assert "Waiting for a worker: none is running" in page

    workers.start(mode="success")
    workers.wait_registered(redis, 1)
    state = wait_for_status(operator_api, deployment_id, FINISHED, timeout=30)
    assert state["status"] == "succeeded", state["error"]
    assert state["waitingForWorker"] is False
