"""The Deployment row is the source of truth for a deployment, not the queue's job status."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from fedipanel.core.text import N_
from fedipanel.db import db
from fedipanel.timeutil import utcnow


class Status(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


class Kind(enum.StrEnum):
    """What a deployment row records: applying a configuration, or deleting the account."""

    DEPLOY = "deploy"
    DELETION = "deletion"


ACTIVE = frozenset({Status.QUEUED, Status.RUNNING})
FINISHED = frozenset({Status.SUCCEEDED, Status.FAILED, Status.CANCELLED})
_ACTIVE_SQL = "status IN ('queued', 'running')"


class Deployment(db.Model):  # type: ignore[name-defined]
    """One deployment of an operator's configuration."""

    __tablename__ = "deployments"
    __table_args__ = (
        # At most one active deployment per operator, enforced by the database itself.
        Index(
            "uq_deployments_one_active",
            "operator_id",
            unique=True,
            sqlite_where=text(_ACTIVE_SQL),
            postgresql_where=text(_ACTIVE_SQL),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    operator_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    kind: Mapped[str] = mapped_column(String(20), default=Kind.DEPLOY)
    status: Mapped[str] = mapped_column(String(16), default=Status.QUEUED, index=True)
    phase: Mapped[str] = mapped_column(String(120), default=N_("Waiting for a worker"))
    progress: Mapped[int] = mapped_column(default=0)
    error: Mapped[str | None] = mapped_column(Text)
    config_version: Mapped[int | None]
    generation: Mapped[int] = mapped_column(default=1)
    # Large (every resource spec): loaded only when asked for.
    plan: Mapped[dict[str, Any] | None] = mapped_column(JSON, deferred=True)
    simulated: Mapped[list[str]] = mapped_column(JSON, default=list)
    job_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    heartbeat_at: Mapped[datetime | None]

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE

    @property
    def is_finished(self) -> bool:
        return self.status in FINISHED


class LogLine(db.Model):  # type: ignore[name-defined]
    """One line of a deployment's log, appended as it happens."""

    __tablename__ = "deployment_log_lines"

    id: Mapped[int] = mapped_column(primary_key=True)
    deployment_id: Mapped[int] = mapped_column(
        ForeignKey("deployments.id", ondelete="CASCADE"), index=True
    )
    at: Mapped[datetime] = mapped_column(default=utcnow)
    line: Mapped[str] = mapped_column(Text)
