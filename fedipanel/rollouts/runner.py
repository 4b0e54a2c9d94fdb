"""Run what is due: start updates whose time has come, follow them, pause on failures.

The rows are the truth: this runs every minute and at each scheduled time, from the embedded
queue or the workers, and running it twice at once starts nothing twice (the database allows one
active deployment per operator, and a target moves on only from the state it was read in).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select, update

from fedipanel.accounts.models import User
from fedipanel.core.maintenance import first_opening_between
from fedipanel.db import db
from fedipanel.deployments.lifecycle import DEPLOY_JOB, active_deployment, queue_row
from fedipanel.deployments.models import Deployment, Status
from fedipanel.errors import Conflict, Unavailable
from fedipanel.maintenance.windows import window_for
from fedipanel.rollouts import messages
from fedipanel.rollouts.creation import naive_utc
from fedipanel.rollouts.models import (
    DONE,
    WAITING,
    Rollout,
    RolloutStatus,
    RolloutTarget,
    TargetState,
)
from fedipanel.rollouts.plans import apply_pins, plan_target
from fedipanel.settings.effective import Settings


def run_due(settings: Settings, now: datetime) -> int:
    """Advance every active rollout; return how many updates were started."""
    now = naive_utc(now)
    started = 0
    active = select(Rollout).where(Rollout.status == RolloutStatus.ACTIVE).order_by(Rollout.id)
    for rollout in db.session.scalars(active).all():
        started += advance(rollout, settings, now)
    return started


def advance(rollout: Rollout, settings: Settings, now: datetime) -> int:
    """Follow running updates, then start the due ones the current batch allows."""
    _follow_running(rollout)
    failed = sum(1 for t in rollout.targets if t.state == TargetState.FAILED)
    if failed >= rollout.failure_threshold:
        _pause(rollout, f"{failed} operators failed (threshold {rollout.failure_threshold})")
        return 0
    if all(t.state in DONE for t in rollout.targets):
        rollout.status = RolloutStatus.FINISHED
        rollout.finished_at = now
        db.session.commit()
        return 0
    open_batch = min(t.batch for t in rollout.targets if t.state not in DONE)
    started = 0
    for target in rollout.targets:
        if target.state not in WAITING or target.scheduled_for is None:
            continue
        if target.scheduled_for > now:
            continue
        if (target.window_end and now >= target.window_end) or now >= rollout.deadline:
            _reschedule(rollout, target, now)
            continue
        if target.batch > open_batch or active_deployment(target.operator_id) is not None:
            continue  # waits, within its window
        started += _start(rollout, target, settings)
    return started


def _follow_running(rollout: Rollout) -> None:
    for target in rollout.targets:
        if target.state != TargetState.RUNNING or target.deployment_id is None:
            continue
        deployment = db.session.get(Deployment, target.deployment_id)
        if deployment is None or deployment.status in (Status.FAILED, Status.CANCELLED):
            target.state = TargetState.FAILED
            target.detail = deployment.error if deployment else "the deployment disappeared"
        elif deployment.status == Status.SUCCEEDED:
            target.state = TargetState.SUCCEEDED
            target.detail = None
        else:
            continue
        db.session.commit()
        messages.tell_operator_result(rollout, target)


def _pause(rollout: Rollout, why: str) -> None:
    rollout.status = RolloutStatus.PAUSED
    rollout.status_reason = why
    db.session.commit()
    messages.tell_provider(
        rollout, "paused", f"The rollout paused itself: {why}. Resume, retry or cancel it."
    )


def _reschedule(rollout: Rollout, target: RolloutTarget, now: datetime) -> None:
    """Move a missed update to the operator's next window before the deadline, else overdue."""
    opening = first_opening_between(window_for(target.operator_id).window, now, rollout.deadline)
    if opening is None:
        target.state = TargetState.OVERDUE
        target.detail = "its maintenance windows passed before it could run; the deadline is near"
        db.session.commit()
        messages.tell_provider_overdue(rollout)
        return
    target.scheduled_for = naive_utc(opening.start)
    target.window_end = naive_utc(opening.end)
    db.session.commit()


def _start(rollout: Rollout, target: RolloutTarget, settings: Settings) -> int:
    """Start the operator's update as an ordinary deployment of their deployed configuration."""
    previous = target.state
    claimed = db.session.execute(
        update(RolloutTarget)
        .where(RolloutTarget.id == target.id, RolloutTarget.state == target.state)
        .values(state=TargetState.RUNNING)
    )
    db.session.commit()
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        db.session.refresh(target)
        return 0
    db.session.refresh(target)
    operator = db.session.get(User, target.operator_id)
    if operator is None:
        return 0  # the account is being deleted: its rows go with it
    found = plan_target(rollout.change, operator, settings)
    if found.planned is None or found.blocked or found.skipped:
        target.state = TargetState.SKIPPED if found.skipped else TargetState.BLOCKED
        target.detail = found.skipped or found.blocked
        db.session.commit()
        return 0
    apply_pins(rollout.change, operator, settings)
    generation = (
        db.session.scalar(
            select(func.max(Deployment.generation)).where(Deployment.operator_id == operator.id)
        )
        or 0
    ) + 1
    deployment = Deployment(
        operator_id=operator.id,
        requested_by_id=rollout.created_by_id,
        status=Status.QUEUED,
        config_version=found.planned.version,
        generation=generation,
        plan=found.planned.plan.as_json(),
    )
    try:
        row = queue_row(deployment, DEPLOY_JOB, [f"Rollout #{rollout.id}: {rollout.title}"])
    except Conflict:
        # The operator started a deployment in the meantime: try again on the next run.
        db.session.execute(
            update(RolloutTarget).where(RolloutTarget.id == target.id).values(state=previous)
        )
        db.session.commit()
        return 0
    except Unavailable as exc:
        target = db.session.get(RolloutTarget, target.id)  # type: ignore[assignment]
        target.state = TargetState.FAILED
        target.detail = str(exc)
        db.session.commit()
        return 0
    target = db.session.get(RolloutTarget, target.id)  # type: ignore[assignment]
    target.deployment_id = row.id
    db.session.commit()
    return 1
