"""Create a rollout: plan it for every operator in it, propose their times, tell them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from fedipanel.accounts.models import Role, User
from fedipanel.core.maintenance import first_opening_between
from fedipanel.core.rollouts import RolloutSpec
from fedipanel.db import db
from fedipanel.errors import Refused
from fedipanel.maintenance.windows import window_for
from fedipanel.rollouts import messages, wakeups
from fedipanel.rollouts.models import Rollout, RolloutTarget, TargetState
from fedipanel.rollouts.plans import check_change, plan_target
from fedipanel.settings.effective import Settings


def naive_utc(moment: datetime) -> datetime:
    """Return an aware moment as the naive UTC the database stores."""
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment


def _operators(spec: RolloutSpec) -> list[User]:
    query = select(User).where(User.role == Role.OPERATOR).order_by(User.id)
    if spec.operators == "all":
        return list(db.session.scalars(query.where(User.disabled_at.is_(None))))
    found = {user.id: user for user in db.session.scalars(query.where(User.id.in_(spec.operators)))}
    for index, operator_id in enumerate(spec.operators):
        if operator_id not in found:
            raise Refused(f"there is no operator {operator_id}", loc=("operators", index))
    return [found[i] for i in spec.operators]


def create_rollout(
    spec: RolloutSpec, author: User | None, settings: Settings, now: datetime
) -> Rollout:
    """Record the rollout with one target per operator, then notify each of them."""
    now = naive_utc(now)
    change = spec.change.model_dump(mode="json", exclude_unset=True)
    check_change(change)
    deadline = naive_utc(spec.deadline)
    notice_over = now + timedelta(hours=spec.noticeHours)
    if deadline <= notice_over:
        raise Refused(
            f"the deadline must be after the notice period ({spec.noticeHours} hours from now, "
            f"{notice_over:%Y-%m-%d %H:%M} UTC)",
            loc=("deadline",),
        )
    rollout = Rollout(
        title=spec.title,
        reason=spec.reason,
        change=change,
        deadline=deadline,
        batch_size=spec.batchSize,
        failure_threshold=spec.failureThreshold,
        notice_hours=spec.noticeHours,
        created_by_id=author.id if author else None,
    )
    db.session.add(rollout)
    runnable = 0
    for operator in _operators(spec):
        target = RolloutTarget(operator_id=operator.id, batch=0)
        found = plan_target(rollout.change, operator, settings)
        target.changes = found.changes
        if found.skipped or found.blocked:
            target.state = TargetState.SKIPPED if found.skipped else TargetState.BLOCKED
            target.detail = found.skipped or found.blocked
        else:
            target.batch = runnable // spec.batchSize
            runnable += 1
            opening = first_opening_between(window_for(operator.id).window, notice_over, deadline)
            if opening is None:
                target.state = TargetState.OVERDUE
                target.detail = "no maintenance window between the notice period and the deadline"
            else:
                target.state = TargetState.NOTIFIED
                target.proposed_for = target.scheduled_for = naive_utc(opening.start)
                target.window_end = naive_utc(opening.end)
        rollout.targets.append(target)
    db.session.commit()
    for moment in {t.scheduled_for for t in rollout.targets if t.scheduled_for}:
        wakeups.wake_at(moment)
    for target in rollout.targets:
        if target.state != TargetState.SKIPPED:
            messages.tell_operator_scheduled(rollout, target)
    if any(t.state == TargetState.OVERDUE for t in rollout.targets):
        messages.tell_provider_overdue(rollout)
    return rollout
