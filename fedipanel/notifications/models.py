"""Notices and operators' webhooks."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from fedipanel.db import db
from fedipanel.timeutil import utcnow


class Notice(db.Model):  # type: ignore[name-defined]
    """Something the panel told an account, and how far its email and webhook got."""

    __tablename__ = "notices"

    id: Mapped[int] = mapped_column(primary_key=True)
    # An operator's, or a provider account's (provider notices are mailed, never webhooked).
    operator_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(80))
    title: Mapped[str] = mapped_column(Text)
    text: Mapped[str] = mapped_column(Text)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    read_at: Mapped[datetime | None]
    # "queued", "sent", "failed", "not configured", or "none" (no channel to send on).
    email_status: Mapped[str] = mapped_column(String(20), default="queued")
    webhook_status: Mapped[str] = mapped_column(String(20), default="queued")
    # What the last attempt of each channel met, in words (never a secret).
    email_detail: Mapped[str | None] = mapped_column(Text)
    webhook_detail: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(default=0)


class Webhook(db.Model):  # type: ignore[name-defined]
    """Where an operator wants notices POSTed, and the secret they are signed with."""

    __tablename__ = "webhooks"

    id: Mapped[int] = mapped_column(primary_key=True)
    operator_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), unique=True
    )
    url: Mapped[str] = mapped_column(Text)
    secret_encrypted: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
