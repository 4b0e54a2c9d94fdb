"""Starting deployments, finding them, and noticing the ones whose worker died."""

from __future__ import annotations

import html
import time
from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from flask import abort, current_app
from markupsafe import Markup
from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import IntegrityError

from fedipanel.accounts.models import User
from fedipanel.deployments.models import ACTIVE, Deployment, LogLine, Status
from fedipanel.deployments.queue import get_queue
from fedipanel.extensions import db
from fedipanel.planning import Plan
from fedipanel.planning.service import PlanError, plan_for
from fedipanel.timeutil import utcnow

INTERRUPTED = "interrupted: the worker running this deployment stopped before it finished"
LOST = "interrupted: its job was lost before a worker started it (restart?); deploy again"


class DeploymentRefused(Exception):
    """A deployment cannot start; `status` is the HTTP status and `loc` the field at fault."""

    def __init__(self, message: str, status: int = 422, loc: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.loc = loc


def start_deployment(operator: User, requested_by: User | None = None) -> Deployment:
    """Record a deployment of the current configuration, then queue it (ids only)."""
    reap_stale_deployments()
    try:
        planned = plan_for(operator)
    except PlanError as exc:
        raise DeploymentRefused(str(exc), status=422, loc=("settings",)) from None
    if planned is None:
        raise DeploymentRefused(
            "Save a configuration before deploying.", status=422, loc=("configuration",)
        )
    check_machines(operator, planned.plan)
    generation = (
        db.session.scalar(
            select(func.max(Deployment.generation)).where(Deployment.operator_id == operator.id)
        )
        or 0
    ) + 1
    deployment = Deployment(
        operator_id=operator.id,
        requested_by_id=requested_by.id if requested_by else None,
        status=Status.QUEUED,
        config_version=planned.version,
        generation=generation,
        plan=planned.plan.as_json(),
    )
    db.session.add(deployment)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        active = active_deployment(operator.id)
        suffix = f" (#{active.id}, {active.status})" if active else ""
        raise DeploymentRefused(
            f"Another deployment of yours is still in progress{suffix}. "
            "Wait for it to finish before deploying again.",
            status=409,
        ) from None

    from jobs.deploy import run_deployment

    try:
        deployment.job_id = get_queue().enqueue(run_deployment, deployment.id)
    except Exception as exc:
        current_app.logger.exception("Could not queue deployment %s", deployment.id)
        deployment.status = Status.FAILED
        deployment.error = f"The job queue is unavailable ({type(exc).__name__}); try again later."
        deployment.finished_at = utcnow()
        db.session.commit()
        raise DeploymentRefused(deployment.error, status=503) from None
    db.session.commit()
    return deployment


def check_machines(operator: User, plan: Plan) -> None:
    """Refuse, before anything is recorded or queued, a plan that shrinks disks or exceeds quota."""
    from fedipanel.machines import quota

    refused = quota.refusals(plan)
    if refused:
        raise DeploymentRefused("; ".join(refused) + ".", status=422, loc=("plan",))
    found = quota.report(operator.id, plan)
    if found.problems:
        raise DeploymentRefused(found.message(), status=422, loc=("quota",))


def active_deployment(operator_id: int) -> Deployment | None:
    """Return the operator's queued or running deployment, if any."""
    return db.session.scalar(
        select(Deployment).where(
            Deployment.operator_id == operator_id, Deployment.status.in_([s.value for s in ACTIVE])
        )
    )


def deployment_for(operator: User, deployment_id: int) -> Deployment:
    """Return one of the operator's deployments, or 404 for anyone else's."""
    reap_stale_deployments_now_and_then()
    deployment = db.session.get(Deployment, deployment_id)
    if deployment is None or deployment.operator_id != operator.id:
        abort(404, "No such deployment.")
    return deployment


def deployments_of(operator_id: int, limit: int = 50) -> list[Deployment]:
    """Return the operator's deployments, newest first."""
    reap_stale_deployments_now_and_then()
    return list(
        db.session.scalars(
            select(Deployment)
            .where(Deployment.operator_id == operator_id)
            .order_by(Deployment.id.desc())
            .limit(limit)
        )
    )


def latest_deployments(operator_ids: Iterable[int]) -> dict[int, Deployment]:
    """Return each operator's newest deployment."""
    ids = list(operator_ids)
    if not ids:
        return {}
    newest = (
        select(func.max(Deployment.id))
        .where(Deployment.operator_id.in_(ids))
        .group_by(Deployment.operator_id)
    )
    rows = db.session.scalars(select(Deployment).where(Deployment.id.in_(newest)))
    return {row.operator_id: row for row in rows}


def log_html(lines: Iterable[str]) -> Markup:
    """Render log lines as escaped HTML in one pass (the progress fragment's hot path)."""
    parts = []
    for line in lines:
        css = "sim" if line.startswith("[simulated]") else "phase" if line.startswith("== ") else ""
        parts.append(f'<span class="{css}">{html.escape(line, quote=False)}</span>\n')
    return Markup("".join(parts))  # noqa: S704 - every line is escaped above


def log_tail(deployment_id: int, limit: int = 100) -> list[str]:
    """Return the last `limit` log lines, oldest first."""
    lines = db.session.scalars(
        select(LogLine.line)
        .where(LogLine.deployment_id == deployment_id)
        .order_by(LogLine.id.desc())
        .limit(limit)
    ).all()
    return list(reversed(lines))


def full_log(deployment_id: int) -> list[str]:
    """Return every log line of a deployment."""
    return list(
        db.session.scalars(
            select(LogLine.line).where(LogLine.deployment_id == deployment_id).order_by(LogLine.id)
        )
    )


def reap_stale_deployments_now_and_then() -> int:
    """Reap at most every FEDIPANEL_REAP_INTERVAL seconds per process: reads are frequent."""
    state = current_app.extensions.setdefault("fedipanel.reaper", {"last": 0.0})
    now = time.monotonic()
    if now - state["last"] < float(current_app.config["REAP_INTERVAL"]):
        return 0
    state["last"] = now
    return reap_stale_deployments()


def reap_stale_deployments() -> int:
    """Mark deployments whose worker died (no heartbeat) or whose queue was lost as failed."""
    cutoff = utcnow() - timedelta(seconds=float(current_app.config["STALE_AFTER"]))
    found = _mark_failed(
        INTERRUPTED,
        Deployment.status == Status.RUNNING,
        func.coalesce(Deployment.heartbeat_at, Deployment.started_at) < cutoff,
    )
    # Queued rows older than the stale threshold are rare: ask the queue whether their job lives.
    job_queue = get_queue()
    waiting = db.session.execute(
        select(Deployment.id, Deployment.job_id, Deployment.created_at).where(
            Deployment.status == Status.QUEUED, Deployment.created_at < cutoff
        )
    ).all()
    lost = [row.id for row in waiting if job_queue.is_lost(row.job_id, row.created_at)]
    if lost:
        found += _mark_failed(LOST, Deployment.status == Status.QUEUED, Deployment.id.in_(lost))
    return found


def _mark_failed(error: str, *conditions: Any) -> int:
    # Reads are frequent (progress polling): only write when something matches.
    ids = db.session.scalars(select(Deployment.id).where(*conditions)).all()
    if not ids:
        return 0
    db.session.execute(
        update(Deployment)
        .where(Deployment.id.in_(ids), *conditions)
        .values(status=Status.FAILED, error=error, finished_at=utcnow())
    )
    db.session.execute(
        insert(LogLine), [{"deployment_id": i, "line": f"FediPanel: {error}"} for i in ids]
    )
    db.session.commit()
    return len(ids)
