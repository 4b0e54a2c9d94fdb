"""What operators and the provider decide about a rollout once it exists."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from fedipanel.core.maintenance import Opening, openings
from fedipanel.db import db
from fedipanel.errors import Conflict, NotFound, Refused
from fedipanel.maintenance.windows import window_for
from fedipanel.rollouts import messages, wakeups
from fedipanel.rollouts.creation import naive_utc
from fedipanel.rollouts.models import (
    DONE,
    WAITING,
    Rollout,
    RolloutStatus,
    RolloutTarget,
    TargetState,
)
from fedipanel.timeutil import utcnow

MOVABLE = WAITING | {TargetState.OVERDUE}


def target_of(rollout_id: int, operator_id: int) -> RolloutTarget:
    """Return the operator's place in a rollout; a rollout they are not in is not found."""
    target = db.session.scalar(
        select(RolloutTarget).where(
            RolloutTarget.rollout_id == rollout_id, RolloutTarget.operator_id == operator_id
        )
    )
    if target is None or (target.state == TargetState.SKIPPED and target.deployment_id is None):
        raise NotFound("no such rollout")
    return target


def choices(target: RolloutTarget, now: datetime) -> list[Opening]:
    """Return the operator's windows that open after the notice period and before the deadline."""
    rollout = target.rollout
    earliest = max(naive_utc(now), rollout.created_at + timedelta(hours=rollout.notice_hours))
    days = (rollout.deadline - earliest).days + 8
    window = window_for(target.operator_id).window
    return [
        o
        for o in openings(window, earliest, days=max(days, 8))
        if naive_utc(o.start) >= earliest and naive_utc(o.start) < rollout.deadline
    ][:50]


def schedule(target: RolloutTarget, now: datetime, *, at: datetime | None, run_now: bool) -> None:
    """Move the operator's update to one of their windows before the deadline, or run it now."""
    rollout = target.rollout
    if rollout.status in (RolloutStatus.CANCELLED, RolloutStatus.FINISHED):
        raise Conflict(f"this rollout is {rollout.status}: nothing more runs")
    if target.state not in MOVABLE:
        raise Conflict(f"your update is {target.state}: it can no longer be moved")
    if run_now:
        target.scheduled_for, target.window_end = naive_utc(now), None
    else:
        if at is None:
            raise Refused('send {"at": "<ISO time>"} or {"now": true}', loc=("at",))
        wanted = naive_utc(at)
        match = [o for o in choices(target, now) if naive_utc(o.start) == wanted]
        if not match:
            raise Refused(
                "pick the start of one of your maintenance windows after the notice period and "
                f"before the deadline ({messages.iso(rollout.deadline)})",
                loc=("at",),
            )
        target.scheduled_for, target.window_end = wanted, naive_utc(match[0].end)
    target.state = TargetState.SCHEDULED
    target.detail = None
    db.session.commit()
    wakeups.wake_at(target.scheduled_for)


STEPS = ("pause", "resume", "retry", "cancel")
DECISIONS = ("run-now", "skip")


def steer(rollout: Rollout, step: str) -> None:
    """Apply one of STEPS to the rollout."""
    if step == "pause":
        pause(rollout)
    elif step == "cancel":
        cancel(rollout)
    else:
        resume(rollout, retry_failed=step == "retry")


def pause(rollout: Rollout) -> None:
    """Stop starting updates (running ones finish)."""
    if rollout.status != RolloutStatus.ACTIVE:
        raise Conflict(f"the rollout is {rollout.status}")
    rollout.status = RolloutStatus.PAUSED
    rollout.status_reason = "paused by the provider"
    db.session.commit()


def resume(rollout: Rollout, *, retry_failed: bool) -> None:
    """Go on; with `retry_failed`, failed operators get their update again at once."""
    if rollout.status in (RolloutStatus.CANCELLED, RolloutStatus.FINISHED) and not retry_failed:
        raise Conflict(f"the rollout is {rollout.status}")
    if rollout.status == RolloutStatus.CANCELLED:
        raise Conflict("the rollout is cancelled")
    if retry_failed:
        for target in rollout.targets:
            if target.state == TargetState.FAILED:
                target.state = TargetState.SCHEDULED
                target.scheduled_for, target.window_end = utcnow(), None
                target.deployment_id = None
    rollout.status = RolloutStatus.ACTIVE
    rollout.status_reason = None
    rollout.finished_at = None
    db.session.commit()
    wakeups.wake_at(utcnow())


def cancel(rollout: Rollout) -> None:
    """Run nothing more; tell every operator still waiting."""
    if rollout.status in (RolloutStatus.CANCELLED, RolloutStatus.FINISHED):
        raise Conflict(f"the rollout is {rollout.status}")
    rollout.status = RolloutStatus.CANCELLED
    rollout.status_reason = "cancelled by the provider"
    waiting = [t for t in rollout.targets if t.state in MOVABLE]
    for target in waiting:
        target.state = TargetState.CANCELLED
    db.session.commit()
    for target in waiting:
        messages.tell_operator_result(rollout, target)


def decide(rollout: Rollout, operator_id: int, now: datetime, *, run_now: bool) -> RolloutTarget:
    """The provider runs one operator's update now, or skips it."""
    target = next((t for t in rollout.targets if t.operator_id == operator_id), None)
    if target is None:
        raise NotFound("this operator is not in the rollout")
    if target.state not in MOVABLE or target.state in DONE:
        raise Conflict(f"this operator's update is {target.state}")
    if run_now:
        target.state = TargetState.SCHEDULED
        target.scheduled_for, target.window_end = naive_utc(now), None
        db.session.commit()
        wakeups.wake_at(target.scheduled_for)
    else:
        target.state = TargetState.SKIPPED
        target.detail = "skipped by the provider"
        db.session.commit()
        messages.tell_operator_result(rollout, target)
    return target
