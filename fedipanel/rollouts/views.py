"""Rollouts as the API and the pages show them: the provider's board and an operator's view."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any

from babel.dates import format_datetime
from flask_babel import get_locale
from sqlalchemy import select

from fedipanel.db import db
from fedipanel.maintenance.windows import Effective, window_for
from fedipanel.rollouts.choices import MOVABLE, choices
from fedipanel.rollouts.messages import iso
from fedipanel.rollouts.models import DONE, Rollout, RolloutStatus, RolloutTarget, TargetState


def counts(rollout: Rollout) -> dict[str, int]:
    """Return how many operators are in each state (every state listed)."""
    found = Counter(t.state for t in rollout.targets)
    return {state.value: found.get(state.value, 0) for state in TargetState}


def done_percent(rollout: Rollout) -> int:
    """Return the share of operators whose update has ended, in percent."""
    total = len(rollout.targets)
    return 100 if not total else round(100 * sum(t.state in DONE for t in rollout.targets) / total)


def summary(rollout: Rollout) -> dict[str, Any]:
    """Return the rollout without its operators."""
    return {
        "id": rollout.id,
        "title": rollout.title,
        "reason": rollout.reason,
        "kind": rollout.kind,
        "status": rollout.status,
        "statusReason": rollout.status_reason,
        "deadline": iso(rollout.deadline),
        "batchSize": rollout.batch_size,
        "failureThreshold": rollout.failure_threshold,
        "noticeHours": rollout.notice_hours,
        "createdAt": iso(rollout.created_at),
        "counts": counts(rollout),
        "progress": done_percent(rollout),
    }


def board(rollout: Rollout) -> dict[str, Any]:
    """Return the provider's view: the rollout and every operator's state."""
    return {
        **summary(rollout),
        "operators": [
            {
                "id": t.operator_id,
                "state": t.state,
                "batch": t.batch,
                "scheduledFor": iso(t.scheduled_for),
                "deployment": t.deployment_id,
                "detail": t.detail,
            }
            for t in rollout.targets
        ],
    }


def operator_view(target: RolloutTarget, now: datetime) -> dict[str, Any]:
    """Return what the operator sees of a rollout: why, what, when, and their choices."""
    rollout = target.rollout
    open_ = rollout.status not in (RolloutStatus.CANCELLED, RolloutStatus.FINISHED)
    movable = open_ and target.state in MOVABLE
    return {
        "id": rollout.id,
        "title": rollout.title,
        "reason": rollout.reason,
        "kind": rollout.kind,
        "status": rollout.status,
        "deadline": iso(rollout.deadline),
        "state": target.state,
        "proposedFor": iso(target.proposed_for),
        "scheduledFor": iso(target.scheduled_for),
        "changes": target.changes,
        "deployment": target.deployment_id,
        "detail": target.detail,
        "choices": [o.start.isoformat() for o in choices(target, now)] if movable else [],
    }


def rollouts_page(limit: int = 50) -> list[Rollout]:
    """Return the newest rollouts."""
    return list(db.session.scalars(select(Rollout).order_by(Rollout.id.desc()).limit(limit)))


def targets_of(operator_id: int) -> list[RolloutTarget]:
    """Return the operator's places in rollouts, newest first (skipped ones left out)."""
    query = (
        select(RolloutTarget)
        .where(RolloutTarget.operator_id == operator_id)
        .where(RolloutTarget.state != TargetState.SKIPPED)
        .order_by(RolloutTarget.rollout_id.desc())
        .limit(50)
    )
    return list(db.session.scalars(query))


def updates_for(
    operator_id: int, now: datetime, window: Effective | None = None
) -> list[dict[str, Any]]:
    """Return the operator's current and recent updates for the dashboard, times in their zone."""
    zone = (window or window_for(operator_id)).window.zone()

    def shown(text: str | None) -> str:
        if not text:
            return ""
        # In the window's zone (named after it), in the page's language.
        moment = datetime.fromisoformat(text)
        language = get_locale() or "en"
        shown = format_datetime(moment, "EEEE d MMMM y, HH:mm", tzinfo=zone, locale=language)
        return f"{shown} ({zone.key})"

    found = []
    for target in targets_of(operator_id)[:5]:
        view = operator_view(target, now)
        view["scheduledLocal"] = shown(view["scheduledFor"])
        view["deadlineLocal"] = shown(view["deadline"])
        view["choiceLabels"] = [(choice, shown(choice)) for choice in view["choices"]]
        found.append(view)
    return found
