"""Wake the rollout runner at each scheduled time, and every minute in case one was lost."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import exists, select

from fedipanel.db import db
from fedipanel.jobqueue import get_queue
from fedipanel.rollouts.models import WAITING, Rollout, RolloutStatus, RolloutTarget, TargetState
from fedipanel.timeutil import utcnow

log = logging.getLogger(__name__)
RUN_DUE_JOB = "jobs.rollouts.run_due_rollouts"
AHEAD = timedelta(days=7)


def wake_at(moment: datetime) -> None:
    """Run the rollout runner at `moment` (naive UTC), by the queue's scheduler."""
    try:
        get_queue().enqueue_at(moment, RUN_DUE_JOB)
    except Exception:  # the minute timer catches up; scheduling must not fail a request
        log.exception("could not schedule the rollout runner at %s", moment)


def _due_or_running(now: datetime) -> bool:
    active = Rollout.status == RolloutStatus.ACTIVE
    due = RolloutTarget.state.in_([s.value for s in WAITING]) & (RolloutTarget.scheduled_for <= now)
    running = RolloutTarget.state == TargetState.RUNNING
    query = select(exists().where(RolloutTarget.rollout_id == Rollout.id, active, due | running))
    return bool(db.session.scalar(query))


def enqueue_when_due() -> None:
    """Queue the runner when an update is due or one is running (the minute timer)."""
    if _due_or_running(utcnow()):
        get_queue().enqueue(RUN_DUE_JOB)


def wake_for_waiting() -> int:
    """Put every scheduled time of the coming week back on the queue (at start), those already
    due included; return how many."""
    now = utcnow()
    moments = db.session.scalars(
        select(RolloutTarget.scheduled_for)
        .join(Rollout, Rollout.id == RolloutTarget.rollout_id)
        .where(
            Rollout.status == RolloutStatus.ACTIVE,
            RolloutTarget.state.in_([s.value for s in WAITING]),
            RolloutTarget.scheduled_for <= now + AHEAD,
        )
        .distinct()
        .limit(1000)
    ).all()
    for moment in moments:
        if moment is not None:
            wake_at(moment)
    return len(moments)


def after_deployment(deployment_id: int) -> None:
    """Run the runner now if the deployment that just ended was a rollout's update."""
    ours = select(exists().where(RolloutTarget.deployment_id == deployment_id))
    if db.session.scalar(ours):
        get_queue().enqueue(RUN_DUE_JOB)
