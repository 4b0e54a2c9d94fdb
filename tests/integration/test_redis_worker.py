"""Deployments through a real redis-server and real forking `flask fedipanel worker` processes.

Each test's web side is its own app and test client (the JSON API); the workers are separate
processes on the same database (the tests marked both_databases run on SQLite and on
PostgreSQL), running the fake nixops4 from tests/fakes against loopback pool VMs.
"""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from redis import Redis
from rq import Queue
from rq.job import Job

from fedipanel.db import db
from fedipanel.deployments.models import Deployment
from fedipanel.jobqueue import QUEUE_NAME
from tests.helpers import Api, Factory, sample_config
from tests.integration.workers import (
    FAKE_NIXOPS4,
    STALE_AFTER,
    Workers,
    deployment,
    is_alive,
    parent_of,
    wait_for_status,
    wait_until,
)
from tests.plugins.machines import LoopbackMachines

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("machines")]

FINISHED = {"succeeded", "failed", "cancelled"}


def deploy(api: Api) -> int:
    """Save the sample configuration if needed, then start a deployment; return its id."""
    if api.get("/configuration").status_code == 404:
        saved = api.put("/configuration", sample_config())
        assert saved.status_code == 200, saved.get_json()
    started = api.post("/deployments")
    assert started.status_code == 202, started.get_json()
    assert started.get_json()["status"] == "queued"
    return int(started.get_json()["id"])


def fake_lines(state: dict[str, Any]) -> list[str]:
    return [line for line in state["log"] if line.startswith("slow line")]


def read_pid(pidfile: Path) -> int:
    return int(wait_until(lambda: pidfile.exists() and pidfile.read_text(), 10, "nixops4's pid"))


@pytest.mark.both_databases
def test_worker_process_runs_deployment_and_log_grows_while_it_runs(
    operator_api: Api, workers: Workers, tmp_path: Path
) -> None:
    received = tmp_path / "received.json"
    workers.start(mode="slow", delay=0.4, lines=8, record=received)
    deployment_id = deploy(operator_api)

    observed: list[tuple[str, int, int]] = []
    deadline = time.monotonic() + 30
    while True:
        state = deployment(operator_api, deployment_id)
        observed.append((state["status"], len(fake_lines(state)), state["progress"]))
        if state["status"] in FINISHED:
            break
        assert time.monotonic() < deadline, f"still {state['status']}: {observed[-5:]}"
        time.sleep(0.1)

    assert state["status"] == "succeeded", state["error"]
    assert state["progress"] == 100
    assert fake_lines(state) == [f"slow line {n} of 8" for n in range(1, 9)]
    # Lines reach the log as nixops4 prints them: two polls saw different partial logs.
    partial = {count for status, count, _ in observed if status == "running" and 0 < count < 8}
    assert len(partial) >= 2, observed
    running_progress = [p for status, count, p in observed if status == "running" and count]
    assert running_progress == sorted(running_progress)
    assert all(55 <= p < 100 for p in running_progress), running_progress

    # The contract with nixops4: argv, a private file removed afterwards, no FediPanel secrets.
    record = json.loads(received.read_text())
    assert record["argv"] == ["apply", "--no-interactive", "acme"]
    assert record["file_mode"] == "0o600"
    assert record["environment"] == ["FEDIPANEL_DEPLOYMENT_FILE"]
    assert not Path(record["file"]).exists()


def test_failing_nixops4_fails_the_deployment_with_its_last_error_line(
    operator_api: Api, workers: Workers, secret_key: str
) -> None:
    workers.start(mode="failure")
    deployment_id = deploy(operator_api)

    state = wait_for_status(operator_api, deployment_id, FINISHED, timeout=30)

    assert state["status"] == "failed"
    assert state["error"] == "activation of mastodon failed"
    assert "nixops4 error: first problem" in state["log"]
    assert state["log"][-1] == "FediPanel: deployment failed: activation of mastodon failed"
    assert secret_key not in workers.output()


@pytest.mark.both_databases
def test_two_workers_run_two_operators_deployments_at_once(
    app: Flask,
    client: FlaskClient,
    factory: Factory,
    operator_api: Api,
    workers: Workers,
    redis: Redis,
    loopback_machines: LoopbackMachines,
) -> None:
    other_api = Api(client, factory.token(factory.operator("op@beta.example", slug="beta")))
    loopback_machines.install(app)  # beta's deploy key too
    for _ in range(2):
        workers.start(mode="slow", delay=0.3, lines=8)
    workers.wait_registered(redis, 2)

    ids = {"acme": deploy(operator_api), "beta": deploy(other_api)}
    apis = {"acme": operator_api, "beta": other_api}

    both_running = False
    states: dict[str, dict[str, Any]] = {}
    deadline = time.monotonic() + 30
    while not all(s.get("status") in FINISHED for s in states.values()) or not states:
        states = {slug: deployment(apis[slug], ids[slug]) for slug in ids}
        both_running = both_running or all(s["status"] == "running" for s in states.values())
        assert time.monotonic() < deadline, states
        time.sleep(0.1)

    for slug, state in states.items():
        assert state["status"] == "succeeded", (slug, state["error"])
        assert len(fake_lines(state)) == 8
    assert both_running, "the second worker never took the second deployment while the first ran"
    with app.app_context():
        job_ids = [db.session.get(Deployment, ids[slug]).job_id for slug in ids]
    ran_on = {Job.fetch(job_id, connection=redis).worker_name for job_id in job_ids}
    assert len(ran_on) == 2, ran_on


def test_second_deployment_while_one_is_queued_or_running_is_refused_and_not_queued(
    operator_api: Api, workers: Workers, redis: Redis
) -> None:
    queue = Queue(QUEUE_NAME, connection=redis)
    first = deploy(operator_api)
    assert queue.count == 1

    refused = operator_api.post("/deployments")
    assert refused.status_code == 409
    assert f"#{first}, queued" in refused.get_json()["errors"][0]["msg"]
    assert queue.count == 1

    workers.start(mode="slow", delay=0.3, lines=6)
    wait_until(
        lambda: deployment(operator_api, first)["status"] == "running", 20, "the worker to start"
    )
    refused = operator_api.post("/deployments")
    assert refused.status_code == 409
    assert f"#{first}, running" in refused.get_json()["errors"][0]["msg"]
    assert queue.count == 0

    assert wait_for_status(operator_api, first, FINISHED, 30)["status"] == "succeeded"
    listed = operator_api.get("/deployments").get_json()["deployments"]
    assert [d["id"] for d in listed] == [first]
    assert queue.count == 0


def switchable_fake(tmp_path: Path) -> tuple[Path, Path]:
    """A nixops4 whose FAKE_NIXOPS4_* settings the test may change between two deployments."""
    settings = tmp_path / "fake-settings.sh"
    wrapper = tmp_path / "nixops4"
    wrapper.write_text(
        "#!/bin/sh\n"
        '[ -f "$FAKE_NIXOPS4_SWITCH" ] && . "$FAKE_NIXOPS4_SWITCH"\n'
        f'exec "{FAKE_NIXOPS4}" "$@"\n'
    )
    wrapper.chmod(0o755)
    return wrapper, settings


@pytest.mark.both_databases
def test_killed_work_horse_fails_deployment_and_worker_takes_the_next_one(
    operator_api: Api, workers: Workers, tmp_path: Path, secret_key: str
) -> None:
    wrapper, settings = switchable_fake(tmp_path)
    # One line, then a minute of silence: a long nixops4 run.
    settings.write_text(
        "export FAKE_NIXOPS4_MODE=slow FAKE_NIXOPS4_DELAY=60 FAKE_NIXOPS4_LINES=2\n"
    )
    pidfile = tmp_path / "nixops4.pid"
    worker = workers.start(nixops4=wrapper, switch=settings, pidfile=pidfile)
    first = deploy(operator_api)

    wait_until(
        lambda: fake_lines(deployment(operator_api, first)) == ["slow line 1 of 2"],
        20,
        "nixops4 to start",
    )
    nixops4_pid = read_pid(pidfile)
    horse = parent_of(nixops4_pid)
    assert horse is not None
    assert parent_of(horse) == worker.pid, "nixops4's parent should be the worker's work horse"

    os.kill(horse, signal.SIGKILL)
    killed_at = time.monotonic()

    state = wait_for_status(operator_api, first, FINISHED, timeout=30)
    assert state["status"] == "failed"
    assert state["error"].startswith("interrupted"), state["error"]
    assert time.monotonic() - killed_at < STALE_AFTER + 10
    # The horse's nixops4 must not go on deploying behind the panel's back.
    wait_until(lambda: not is_alive(nixops4_pid), 5, "the orphaned nixops4 to die")
    assert worker.poll() is None, "the worker itself must survive its work horse"

    pidfile.unlink()
    settings.write_text("export FAKE_NIXOPS4_MODE=success\n")
    second = deploy(operator_api)
    state = wait_for_status(operator_api, second, FINISHED, timeout=30)
    assert state["status"] == "succeeded", state["error"]
    assert "Applying deployment acme" in state["log"]
    assert "Deployment acme applied" in state["log"]
    assert worker.poll() is None
    assert secret_key not in workers.output()


@pytest.mark.parametrize("job_timeout", [3])
def test_job_timeout_fails_deployment_and_stops_nixops4(
    operator_api: Api, workers: Workers, tmp_path: Path, secret_key: str
) -> None:
    pidfile = tmp_path / "nixops4.pid"
    worker = workers.start(mode="hang", pidfile=pidfile)
    deployment_id = deploy(operator_api)

    nixops4_pid = read_pid(pidfile)
    state = wait_for_status(operator_api, deployment_id, FINISHED, timeout=30)

    assert state["status"] == "failed"
    assert state["error"].startswith("timed out"), state["error"]
    assert "waiting for a lock that never comes" in state["log"]
    wait_until(lambda: not is_alive(nixops4_pid), 5, "the hanging nixops4 to be killed")
    assert worker.poll() is None
    output = workers.output()
    assert "JobTimeoutException" in output, "RQ should record the timeout too"
    assert secret_key not in output


@pytest.mark.both_databases
def test_queued_deployment_whose_job_redis_lost_is_failed_and_unblocks(
    app: Flask, operator_api: Api, redis: Redis
) -> None:
    """Redis restarted without persistence: the row must not stay queued forever."""
    from datetime import timedelta

    from fedipanel.timeutil import utcnow

    operator_api.put("/configuration", sample_config())
    deployment_id = operator_api.post("/deployments").get_json()["id"]  # no worker running
    redis.flushdb()
    with app.app_context():
        row = db.session.get(Deployment, deployment_id)
        assert row is not None
        row.created_at = utcnow() - timedelta(seconds=app.config["STALE_AFTER"] + 1)
        db.session.commit()
    # Deploying again first notices the lost job (reads never write; workers reap on a timer).
    assert operator_api.post("/deployments").status_code == 202
    deployment = operator_api.get(f"/deployments/{deployment_id}").get_json()
    assert deployment["status"] == "failed"
    assert "lost" in deployment["error"]
