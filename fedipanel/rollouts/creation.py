"""Create a rollout: plan it for every operator in it, propose their times, tell them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from fedipanel.accounts.models import Role, User
from fedipanel.core.maintenance import first_opening_between
from fedipanel.core.rollouts import RolloutSpec
from fedipanel.db import db
from fedipanel.deployments.pending import deployed_versions
from fedipanel.errors import Refused
from fedipanel.machines.quota import quotas_of
from fedipanel.maintenance.windows import windows_for
from fedipanel.notifications.notices import notify_many
from fedipanel.planning.plans import Prefetched
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
    operators = _operators(spec)
    ids = [operator.id for operator in operators]
    deployed, windows = deployed_versions(ids), windows_for(ids)
    prefetched, limits = Prefetched.load(ids, settings), quotas_of(ids)
    for operator in operators:
        target = RolloutTarget(operator_id=operator.id, batch=0)
        with db.session.no_autoflush:
            found = plan_target(
                rollout.change,
                operator,
                settings,
                deployed.get(operator.id),
                prefetched,
                limits[operator.id],
            )
        target.changes = found.changes
        if found.skipped or found.blocked:
            target.state = TargetState.SKIPPED if found.skipped else TargetState.BLOCKED
            target.detail = found.skipped or found.blocked
        else:
            target.batch = runnable // spec.batchSize
            runnable += 1
            opening = first_opening_between(windows[operator.id].window, notice_over, deadline)
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
    notify_many(
        [
            messages.scheduled_notice(rollout, t, windows[t.operator_id].window.zone())
            for t in rollout.targets
            if t.state != TargetState.SKIPPED
        ]
    )
    if any(t.state == TargetState.OVERDUE for t in rollout.targets):
        messages.tell_provider_overdue(rollout)
    return rollout
