"""The accounting record of a deleted operator."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, String
from sqlalchemy.orm import Mapped, mapped_column

from fedipanel.db import db
from fedipanel.timeutil import utcnow


class OperatorRecord(db.Model):  # type: ignore[name-defined]
    """Name, email, usage and deployments' dates and outcomes of an account that is gone.

    `operator_id` is the deleted account's id (not a foreign key: the account no longer exists).
    """

    __tablename__ = "operator_records"

    operator_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    email: Mapped[str] = mapped_column(String(254))
    deployment_name: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    deleted_at: Mapped[datetime] = mapped_column(default=utcnow)
    retain_until: Mapped[datetime] = mapped_column(index=True)
    # The deletion that ended the account: its id (a deployment of kind "deletion"), who asked,
    # its log and what was checked to be gone.
    deletion_id: Mapped[int] = mapped_column(unique=True)
    deletion: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # [{"id", "generation", "kind", "status", "createdAt", "finishedAt"}], oldest first.
    deployments: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    usage: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
