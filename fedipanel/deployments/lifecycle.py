"""Starting deployments and finding them."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from flask import current_app
from sqlalchemy import Row, Select, bindparam, func, select, update
from sqlalchemy.exc import IntegrityError

from fedipanel.accounts.models import User
from fedipanel.core.planner import Plan
from fedipanel.db import db
from fedipanel.deployments.live import Shown
from fedipanel.deployments.models import ACTIVE, Deployment, LogLine, Status
from fedipanel.deployments.reaper import reap_stale_deployments
from fedipanel.deployments.systems import nixops4_refusal
from fedipanel.errors import Conflict, NotFound, Refused, Unavailable
from fedipanel.jobqueue import get_queue
from fedipanel.machines import quota
from fedipanel.planning.plans import PlanError, PlannedDeployment, plan_for
from fedipanel.settings.effective import Settings
from fedipanel.timeutil import utcnow

DEPLOY_JOB = "jobs.deploy.run_deployment"
NO_WORKER = (
    "Waiting for a worker: none is running, so this deployment has not started; "
    "it starts as soon as the provider starts one"
)


def start_deployment(
    operator: User,
    settings: Settings,
    requested_by: User | None = None,
    *,
    confirm: str | None = None,
    version: int | None = None,
) -> Deployment:
    """Record a deployment of the current configuration, then queue it (ids only).

    A plan that deletes data needs `confirm`, the operator's domain typed again. `version`, when
    given, is the configuration version whose plan the operator reviewed: a newer one is refused.
    """
    if not operator.is_active:
        raise Refused("This account is disabled: nothing can be deployed.", loc=("account",))
    reap_stale_deployments()
    try:
        planned = plan_for(operator, settings)
    except PlanError as exc:
        raise Refused(str(exc), loc=exc.loc) from None
    if planned is None:
        raise Refused("Save a configuration before deploying.", loc=("configuration",))
    if version is not None and version != planned.version:
        raise Refused(
            f"The configuration changed since this plan was shown (now version {planned.version})"
            ": review the new plan before deploying.",
            loc=("version",),
        )
    refusal = nixops4_refusal(settings)
    if refusal is not None:
        raise Refused(refusal, loc=("machines",))
    check_machines(operator, planned.plan)
    deletions = check_confirmed(planned, confirm)
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
    confirmed = (
        [f"FediPanel: deleting confirmed by typing the domain: {'; '.join(deletions)}"]
        if deletions
        else []
    )
    return queue_row(deployment, DEPLOY_JOB, confirmed)


def queue_row(deployment: Deployment, job: str, log_lines: Sequence[str] = ()) -> Deployment:
    """Commit a new deployment row (with its first log lines), then queue its job.

    The row comes first: it is the truth. The database allows one active row per operator: a
    second one is a Conflict.
    """
    db.session.add(deployment)
    try:
        if log_lines:
            db.session.flush()  # the log lines need the row's id
            for line in log_lines:
                db.session.add(LogLine(deployment_id=deployment.id, line=line))
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        active = active_deployment(deployment.operator_id)
        suffix = f" (#{active.id}, {active.status})" if active else ""
        raise Conflict(
            f"Another deployment of yours is still in progress{suffix}. "
            "Wait for it to finish first."
        ) from None
    # Detached with everything loaded: the job may finish (an account deletion removes its own
    # row) before the caller reads the row again.
    db.session.refresh(deployment)
    db.session.expunge(deployment)
    row = update(Deployment).where(Deployment.id == deployment.id)
    try:
        job_id = get_queue().enqueue(job, deployment.id)
    except Exception as exc:
        current_app.logger.exception("Could not queue deployment %s", deployment.id)
        error = f"The job queue is unavailable ({type(exc).__name__}); try again later."
        db.session.execute(row.values(status=Status.FAILED, error=error, finished_at=utcnow()))
        db.session.commit()
        raise Unavailable(error) from None
    db.session.execute(row.values(job_id=job_id))
    db.session.commit()
    deployment.job_id = job_id
    return deployment


def waiting_for_worker(deployment: Shown) -> bool:
    """Tell whether a queued deployment waits for a worker that is not running."""
    return deployment.status == Status.QUEUED and not get_queue().has_live_worker()


def check_machines(operator: User, plan: Plan) -> None:
    """Refuse, before anything is recorded or queued, a plan that shrinks disks or exceeds quota."""
    refused = quota.refusals(plan)
    if refused:
        raise Refused("; ".join(refused) + ".", loc=("plan",))
    found = quota.report(operator.id, plan)
    if found.problems:
        raise Refused(found.message(), loc=("quota",))


def check_confirmed(planned: PlannedDeployment, confirm: str | None) -> list[str]:
    """Refuse a plan that deletes data unless `confirm` is the domain; return what it deletes."""
    deletions = planned.plan.deletions()
    if not deletions:
        return []
    domain = planned.config.domain
    typed = (confirm or "").strip().lower().rstrip(".")
    if typed == domain.lower():
        return deletions
    listed = "; ".join(deletions)
    if typed:
        message = (
            f"That is not your domain: type {domain} to confirm. Nothing was deployed. "
            f"This deployment deletes data for good: {listed}."
        )
    else:
        message = (
            f"This deployment deletes data for good: {listed}. "
            f"Confirm by typing your domain, {domain}; nothing was deployed."
        )
    raise Refused(message, loc=("confirm",))


def active_deployment(operator_id: int) -> Deployment | None:
    """Return the operator's queued or running deployment, if any."""
    return db.session.scalar(
        select(Deployment).where(
            Deployment.operator_id == operator_id, Deployment.status.in_([s.value for s in ACTIVE])
        )
    )


def deployment_for(operator: User, deployment_id: int) -> Deployment:
    """Return one of the operator's deployments; anyone else's is not found."""
    deployment = db.session.get(Deployment, deployment_id)
    if deployment is None or deployment.operator_id != operator.id:
        raise NotFound("No such deployment.")
    return deployment


def any_deployment(deployment_id: int) -> Deployment:
    """Return any operator's deployment, for the provider's read-only view."""
    deployment = db.session.get(Deployment, deployment_id)
    if deployment is None:
        raise NotFound("No such deployment.")
    return deployment


# The columns a list of deployments shows (templates/deployments/_table.html), built once.
_LISTED = (
    select(
        Deployment.id,
        Deployment.status,
        Deployment.phase,
        Deployment.error,
        Deployment.config_version,
        Deployment.simulated,
        Deployment.created_at,
    )
    .where(Deployment.operator_id == bindparam("operator_id"))
    .order_by(Deployment.id.desc())
    .limit(bindparam("limit"))
)


def listed_deployments(operator_id: int, limit: int = 50) -> Sequence[Row[*tuple[Any, ...]]]:
    """Return the rows a list of the operator's deployments shows, newest first."""
    found = db.session.connection().execute(_LISTED, {"operator_id": operator_id, "limit": limit})
    return found.all()


def deployments_of(operator_id: int, limit: int = 50) -> list[Deployment]:
    """Return the operator's deployments, newest first."""
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
    rows = db.session.scalars(select(Deployment).where(Deployment.id.in_(_newest_of(ids))))
    return {row.operator_id: row for row in rows}


def latest_listed(operator_ids: Iterable[int]) -> dict[int, Row[*tuple[Any, ...]]]:
    """Return the id, status and start of each operator's newest deployment, in one query."""
    ids = list(operator_ids)
    if not ids:
        return {}
    rows = db.session.execute(
        select(
            Deployment.operator_id, Deployment.id, Deployment.status, Deployment.created_at
        ).where(Deployment.id.in_(_newest_of(ids)))
    )
    return {row.operator_id: row for row in rows}


def _newest_of(operator_ids: list[int]) -> Select[int]:
    """Return a subquery of the id of each operator's newest deployment."""
    return (
        select(func.max(Deployment.id))
        .where(Deployment.operator_id.in_(operator_ids))
        .group_by(Deployment.operator_id)
    )


def log_tail(deployment_id: int, limit: int = 100) -> list[str]:
    """Return the last `limit` log lines, oldest first."""
    lines = db.session.scalars(
        select(LogLine.line)
        .where(LogLine.deployment_id == deployment_id)
        .order_by(LogLine.id.desc())
        .limit(limit)
    ).all()
    return list(reversed(lines))


def full_log(deployment_id: int, skip: int = 0) -> list[str]:
    """Return every log line of a deployment, or those after the first `skip`."""
    return list(
        db.session.scalars(
            select(LogLine.line)
            .where(LogLine.deployment_id == deployment_id)
            .order_by(LogLine.id)
            .offset(skip)
        )
    )
