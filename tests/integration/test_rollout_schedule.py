"""Rollout updates start at their time from RQ's scheduler, and survive restarts."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask import Flask
from redis import Redis
from rq.registry import ScheduledJobRegistry
from rq.scheduler import RQScheduler
from sqlalchemy import select

from fedipanel.db import db
from fedipanel.deployments.models import Deployment
from fedipanel.jobqueue import QUEUE_NAME
from fedipanel.rollouts import wakeups
from fedipanel.rollouts.models import RolloutTarget
from fedipanel.timeutil import utcnow
from tests.helpers import Api, Factory, sample_config
from tests.integration.workers import Workers, wait_for_status, wait_until

AHEAD = 6  # seconds between scheduling the update and its time


@pytest.fixture
def provider_api(app: Flask, factory: Factory) -> Api:
    return Api(app.test_client(), factory.token(factory.provider()))


def deployed(operator_api: Api, workers: Workers, redis: Redis) -> None:
    """Deploy the operator once, on the loopback machines, through a real worker."""
    assert operator_api.put("/configuration", sample_config()).status_code == 200
    started = operator_api.post("/deployments")
    assert started.status_code == 202, started.get_json()
    wait_for_status(operator_api, started.get_json()["id"], {"succeeded"}, 60)


def schedule_soon(app: Flask, provider_api: Api) -> tuple[int, object]:
    """Create a rollout and move its one update a few seconds ahead, as a chosen time does."""
    deadline = (utcnow() + timedelta(days=20)).isoformat() + "+00:00"
    body = {
        "title": "Security fix",
        "reason": "OpenSSL",
        "deadline": deadline,
        "noticeHours": 0,
        "change": {"kind": "redeploy"},
    }
    created = provider_api.post("/rollouts", body)
    assert created.status_code == 201, created.get_json()
    with app.app_context():
        target = db.session.scalars(select(RolloutTarget)).one()
        when = utcnow() + timedelta(seconds=AHEAD)
        target.scheduled_for, target.window_end = when, when + timedelta(hours=1)
        target.state = "scheduled"
        db.session.commit()
        wakeups.wake_at(when)
    return int(created.get_json()["id"]), when


def started_at(app: Flask) -> object:
    with app.app_context():
        target = db.session.scalars(select(RolloutTarget)).one()
        db.session.refresh(target)
        if target.deployment_id is None:
            return None
        return db.session.get(Deployment, target.deployment_id).created_at  # type: ignore[union-attr]


@pytest.mark.usefixtures("machines")
@pytest.mark.parametrize("lose_the_scheduled_job", [False, True])
def test_update_starts_at_its_time_after_workers_and_web_restart(
    app: Flask,
    operator_api: Api,
    provider_api: Api,
    workers: Workers,
    redis: Redis,
    lose_the_scheduled_job: bool,
) -> None:
    # Only the scheduler may start it: the every-minute check is an hour away.
    workers.settings["ROLLOUT_TICK"] = "3600"
    workers.start()
    workers.wait_registered(redis, 1)
    deployed(operator_api, workers, redis)

    rollout_id, when = schedule_soon(app, provider_api)
    scheduled = ScheduledJobRegistry(QUEUE_NAME, connection=redis)
    assert scheduled.get_job_ids(), "the update waits in RQ's scheduled registry"

    # Everything restarts before the time comes: the workers, and the web process (a new app).
    workers.stop()
    workers.processes.clear()  # the next ones are new processes
    workers.logs.clear()
    if lose_the_scheduled_job:
        # Redis lost it: the rows are the truth, and a starting worker puts it back.
        for job_id in scheduled.get_job_ids():
            scheduled.remove(job_id, delete_job=True)
        assert not scheduled.get_job_ids()
    assert started_at(app) is None
    # A stopped worker's scheduler lock lasts up to a minute (RQ's own expiry), as in production.
    lock = RQScheduler.get_locking_key(QUEUE_NAME)
    wait_until(lambda: not redis.exists(lock), 75, "the old scheduler's lock to go", step=0.5)
    workers.start()
    workers.wait_registered(redis, 1)

    begun = wait_until(lambda: started_at(app), AHEAD + 60, "the update to start")
    assert begun >= when  # type: ignore[operator]
    board = wait_until(
        lambda: (
            (b := provider_api.get(f"/rollouts/{rollout_id}").get_json())["status"] == "finished"
            and b
        ),
        60,
        "the rollout to finish",
    )
    assert board["operators"][0]["state"] == "succeeded"
