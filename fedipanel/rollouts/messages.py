"""What operators and the provider are told about a rollout, in words and for scripts."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from fedipanel.maintenance.windows import window_for
from fedipanel.notifications.notices import notify, notify_provider
from fedipanel.rollouts.models import Rollout, RolloutTarget, TargetState


def iso(moment: datetime | None) -> str | None:
    """Return a stored (naive UTC) moment as ISO 8601 with its offset."""
    return moment.replace(tzinfo=UTC).isoformat() if moment else None


def local(moment: datetime, operator_id: int, zone: ZoneInfo | None = None) -> str:
    """Return a stored moment in the operator's maintenance time zone, for people."""
    zone = zone or window_for(operator_id).window.zone()
    shown = moment.replace(tzinfo=UTC).astimezone(zone)
    return f"{shown:%A %d %B %Y, %H:%M} ({zone.key})"


def payload(rollout: Rollout, target: RolloutTarget) -> dict[str, Any]:
    """Return the details scripts read: the rollout, the operator's state, time and plan."""
    return {
        "rollout": rollout.id,
        "kind": rollout.kind,
        "reason": rollout.reason,
        "deadline": iso(rollout.deadline),
        "state": target.state,
        "scheduledFor": iso(target.scheduled_for),
        "changes": target.changes,
        "deployment": target.deployment_id,
        "detail": target.detail,
    }


def _changes_text(target: RolloutTarget) -> str:
    if not target.changes:
        return "Your machines are deployed again with the same configuration."
    lines = [f"- {c['action']} {c['kind']} {c['name']}" for c in target.changes]
    return "What changes:\n" + "\n".join(lines)


def scheduled_notice(
    rollout: Rollout, target: RolloutTarget, zone: ZoneInfo | None = None
) -> tuple[int, str, str, str, dict[str, Any]]:
    """Return the notice telling the operator what the rollout changes for them, why and when."""
    deadline = local(rollout.deadline, target.operator_id, zone)
    if target.state == TargetState.BLOCKED:
        when = f"It cannot run for your deployment: {target.detail}."
    elif target.scheduled_for is None:
        when = (
            "None of your maintenance windows falls before the deadline; the provider will "
            "decide when it runs. You can also run it now."
        )
    else:
        slot = local(target.scheduled_for, target.operator_id, zone)
        when = (
            f"It runs in your maintenance window on {slot}"
            f" unless you pick another of your windows before {deadline} or run it now."
        )
    return (
        target.operator_id,
        "rollout.scheduled",
        f"Planned update: {rollout.title}",
        f"{rollout.reason}\n\n{when}\n\n{_changes_text(target)}",
        payload(rollout, target),
    )


def tell_operator_result(rollout: Rollout, target: RolloutTarget) -> None:
    """Tell the operator how their update went."""
    outcome = {
        TargetState.SUCCEEDED: "Your deployment was updated.",
        TargetState.FAILED: f"Updating your deployment failed: {target.detail}",
        TargetState.CANCELLED: "The provider cancelled this update; nothing more will run.",
        TargetState.SKIPPED: "The provider skipped this update for your deployment.",
    }.get(TargetState(target.state), f"Update {target.state}.")
    notify(
        target.operator_id,
        kind="rollout.result",
        title=f"Update {target.state}: {rollout.title}",
        text=outcome,
        payload=payload(rollout, target),
    )


def tell_provider(rollout: Rollout, title: str, text: str) -> None:
    """Email the provider about a rollout that needs them."""
    notify_provider(
        kind="rollout.attention",
        title=f"Rollout #{rollout.id} {rollout.title}: {title}",
        text=text,
        payload={"rollout": rollout.id, "status": rollout.status},
    )


def tell_provider_overdue(rollout: Rollout) -> None:
    """Tell the provider which operators have no window left before the deadline."""
    names = [str(t.operator_id) for t in rollout.targets if t.state == TargetState.OVERDUE]
    tell_provider(
        rollout,
        "operators without a window before the deadline",
        f"Operators {', '.join(names)} have no maintenance window left before the deadline. "
        "Run their update now or skip it on the rollout's page.",
    )
