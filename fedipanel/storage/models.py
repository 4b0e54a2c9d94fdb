"""Storage rows: secrets encrypted at rest, never in resource specs or facts."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from fedipanel.db import db
from fedipanel.timeutil import utcnow


class StorageKey(db.Model):  # type: ignore[name-defined]
    """The Garage access key of one operator's service; its secret re-delivered on each deploy."""

    __tablename__ = "storage_keys"
    __table_args__ = (UniqueConstraint("operator_id", "service"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    operator_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    service: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(255))
    access_key_id: Mapped[str] = mapped_column(String(255))
    secret_encrypted: Mapped[str] = mapped_column(Text)
    # The key this one replaced while rekeying: deleted on Garage once that deployment succeeded.
    previous_name: Mapped[str | None] = mapped_column(String(255))
    previous_access_key_id: Mapped[str | None] = mapped_column(String(255))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class AssignedBucket(db.Model):  # type: ignore[name-defined]
    """A bucket the provider gave an operator's service instead of one FediPanel creates."""

    __tablename__ = "assigned_buckets"
    __table_args__ = (UniqueConstraint("operator_id", "service"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    operator_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    service: Mapped[str] = mapped_column(String(32))
    endpoint: Mapped[str] = mapped_column(String(500))
    region: Mapped[str] = mapped_column(String(64))
    bucket: Mapped[str] = mapped_column(String(63))
    public_url: Mapped[str | None] = mapped_column(String(500))
    access_key_id: Mapped[str] = mapped_column(String(255))
    secret_encrypted: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class StorageOutcome(db.Model):  # type: ignore[name-defined]
    """What a deployment did with a disabled service's data: kept or deleted."""

    __tablename__ = "storage_outcomes"

    id: Mapped[int] = mapped_column(primary_key=True)
    deployment_id: Mapped[int] = mapped_column(
        ForeignKey("deployments.id", ondelete="CASCADE"), index=True
    )
    service: Mapped[str] = mapped_column(String(32))
    choice: Mapped[str] = mapped_column(String(16))  # "keep" | "delete"
    outcome: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(default=utcnow)
