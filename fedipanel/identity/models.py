"""Directory rows: the bind password encrypted at rest, sync runs and the accounts they manage."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from fedipanel.db import db
from fedipanel.timeutil import utcnow


class DirectorySettings(db.Model):  # type: ignore[name-defined]
    """Where an operator's users are; one row per operator."""

    __tablename__ = "directory_settings"

    id: Mapped[int] = mapped_column(primary_key=True)
    operator_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), unique=True
    )
    url: Mapped[str] = mapped_column(String(500))
    insecure: Mapped[bool] = mapped_column(Boolean, default=False)
    bind_dn: Mapped[str] = mapped_column(String(500))
    bind_password_encrypted: Mapped[str] = mapped_column(Text)
    base_dn: Mapped[str] = mapped_column(String(500))
    user_filter: Mapped[str] = mapped_column(String(1000))
    username_attribute: Mapped[str] = mapped_column(String(64))
    email_attribute: Mapped[str] = mapped_column(String(64))
    name_attribute: Mapped[str] = mapped_column(String(64))
    admin_group: Mapped[str] = mapped_column(String(500), default="")
    ca_certificate: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class DirectorySync(db.Model):  # type: ignore[name-defined]
    """One run of the sync: when, why, what it changed and what went wrong."""

    __tablename__ = "directory_syncs"

    id: Mapped[int] = mapped_column(primary_key=True)
    operator_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    trigger: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), default="queued")
    simulated: Mapped[bool] = mapped_column(Boolean, default=False)
    queued_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)
    changes: Mapped[list[Any]] = mapped_column(JSON, default=list)
    errors: Mapped[list[Any]] = mapped_column(JSON, default=list)


class SyncedAccount(db.Model):  # type: ignore[name-defined]
    """An account the sync manages on one of the operator's services, as it last left it."""

    __tablename__ = "synced_accounts"
    __table_args__ = (UniqueConstraint("operator_id", "service", "username"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    operator_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    service: Mapped[str] = mapped_column(String(32))
    username: Mapped[str] = mapped_column(String(64))
    email: Mapped[str] = mapped_column(String(320))
    admin: Mapped[bool] = mapped_column(Boolean, default=False)
    suspended: Mapped[bool] = mapped_column(Boolean, default=False)
