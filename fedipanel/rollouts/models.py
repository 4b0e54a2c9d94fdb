"""A rollout and, per operator in it, where their update stands."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from fedipanel.db import db
from fedipanel.timeutil import utcnow


class RolloutStatus(enum.StrEnum):
    ACTIVE = "active"
    PAUSED = "paused"
    CANCELLED = "cancelled"
    FINISHED = "finished"


class TargetState(enum.StrEnum):
    """Where one operator's update stands."""

    NOTIFIED = "notified"  # told, due at the proposed time unless they pick another
    SCHEDULED = "scheduled"  # the operator picked a time (or "now")
    OVERDUE = "overdue"  # no window left before the deadline: the provider decides
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    BLOCKED = "blocked"  # its plan exceeds the quota or cannot be applied
    SKIPPED = "skipped"
    CANCELLED = "cancelled"


WAITING = frozenset({TargetState.NOTIFIED, TargetState.SCHEDULED})
DONE = frozenset(
    {
        TargetState.SUCCEEDED,
        TargetState.FAILED,
        TargetState.BLOCKED,
        TargetState.SKIPPED,
        TargetState.CANCELLED,
    }
)


class Rollout(db.Model):  # type: ignore[name-defined]
    """One change the provider rolls out to many operators."""

    __tablename__ = "rollouts"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(Text)
    change: Mapped[dict[str, Any]] = mapped_column(JSON)
    deadline: Mapped[datetime]
    batch_size: Mapped[int]
    failure_threshold: Mapped[int]
    notice_hours: Mapped[int]
    status: Mapped[str] = mapped_column(String(16), default=RolloutStatus.ACTIVE, index=True)
    status_reason: Mapped[str | None] = mapped_column(Text)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
    targets: Mapped[list[RolloutTarget]] = relationship(
        back_populates="rollout", order_by="RolloutTarget.id", cascade="all, delete-orphan"
    )

    @property
    def kind(self) -> str:
        return str(self.change.get("kind", ""))


class RolloutTarget(db.Model):  # type: ignore[name-defined]
    """One operator in a rollout: their plan, their time, and how it went."""

    __tablename__ = "rollout_targets"
    __table_args__ = (
        UniqueConstraint("rollout_id", "operator_id"),
        Index("ix_rollout_targets_due", "state", "scheduled_for"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    rollout_id: Mapped[int] = mapped_column(
        ForeignKey("rollouts.id", ondelete="CASCADE"), index=True
    )
    operator_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    batch: Mapped[int]
    state: Mapped[str] = mapped_column(String(16))
    proposed_for: Mapped[datetime | None]
    scheduled_for: Mapped[datetime | None]
    # The end of the window `scheduled_for` opens; None: as soon as possible ("run now").
    window_end: Mapped[datetime | None]
    # Changes the rollout makes to this operator's deployment, as the planner lists them.
    changes: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    detail: Mapped[str | None] = mapped_column(Text)
    deployment_id: Mapped[int | None] = mapped_column(
        ForeignKey("deployments.id", ondelete="SET NULL")
    )
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    rollout: Mapped[Rollout] = relationship(back_populates="targets")
