"""Noticing deployments whose worker died, whose job RQ gave up on, or whose job was lost."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import current_app
from sqlalchemy import func, insert, select, update

from fedipanel.db import db
from fedipanel.deployments.models import Deployment, LogLine, Status
from fedipanel.jobqueue import get_queue
from fedipanel.timeutil import utcnow

INTERRUPTED = "interrupted: the worker running this deployment stopped before it finished"
LOST = "interrupted: its job was lost before a worker started it (restart?); deploy again"


def reap_stale_deployments() -> int:
    """Mark deployments whose worker died (no heartbeat, or RQ says so) or whose job was lost
    as failed; return how many."""
    cutoff = utcnow() - timedelta(seconds=float(current_app.config["STALE_AFTER"]))
    found = _mark_failed(
        INTERRUPTED,
        Deployment.status == Status.RUNNING,
        func.coalesce(Deployment.heartbeat_at, Deployment.started_at) < cutoff,
    )
    job_queue = get_queue()
    # RQ knows at once when a work horse was killed or its job stopped: no need to wait for the
    # heartbeat to go stale.
    running = db.session.execute(
        select(Deployment.id, Deployment.job_id).where(Deployment.status == Status.RUNNING)
    ).all()
    for row in running:
        reason = job_queue.failure(row.job_id)
        if reason is not None:
            found += fail_running(row.id, f"interrupted: {reason}")
    # Queued rows older than the stale threshold are rare: ask the queue whether their job lives.
    waiting = db.session.execute(
        select(Deployment.id, Deployment.job_id, Deployment.created_at).where(
            Deployment.status == Status.QUEUED, Deployment.created_at < cutoff
        )
    ).all()
    lost = [row.id for row in waiting if job_queue.is_lost(row.job_id, row.created_at)]
    if lost:
        found += _mark_failed(LOST, Deployment.status == Status.QUEUED, Deployment.id.in_(lost))
    return found


def fail_running(deployment_id: int, error: str) -> int:
    """Fail a deployment that is still running with `error`; return 1 if it was, else 0."""
    return _mark_failed(error, Deployment.status == Status.RUNNING, Deployment.id == deployment_id)


def fail_job(job_id: str, error: str) -> int:
    """Fail the running deployment whose job is `job_id`; return 1 if there was one."""
    deployment_id = db.session.scalar(
        select(Deployment.id).where(
            Deployment.job_id == job_id, Deployment.status == Status.RUNNING
        )
    )
    return 0 if deployment_id is None else fail_running(deployment_id, error)


def _mark_failed(error: str, *conditions: Any) -> int:
    # Reads are frequent (progress polling): only write when something matches.
    ids = db.session.scalars(select(Deployment.id).where(*conditions)).all()
    failed = []
    for deployment_id in ids:
        # Another reaper (a second worker, the web process) may have got there first: only the
        # one whose update changed the row writes the log line.
        result = db.session.execute(
            update(Deployment)
            .where(Deployment.id == deployment_id, *conditions)
            .values(status=Status.FAILED, error=error, finished_at=utcnow())
        )
        if result.rowcount:  # type: ignore[attr-defined]
            failed.append(deployment_id)
    if failed:
        db.session.execute(
            insert(LogLine), [{"deployment_id": i, "line": f"FediPanel: {error}"} for i in failed]
        )
    if ids:
        db.session.commit()
    return len(failed)
