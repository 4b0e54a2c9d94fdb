"""Administrator passwords (encrypted) and the last check of each service."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from fedipanel.db import db
from fedipanel.timeutil import utcnow


class AdminPassword(db.Model):  # type: ignore[name-defined]
    """The password of the operator's administrator account on one service."""

    __tablename__ = "admin_passwords"
    __table_args__ = (UniqueConstraint("operator_id", "service"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    operator_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    service: Mapped[str] = mapped_column(String(32))
    password_encrypted: Mapped[str] = mapped_column(Text)
    # 1 for the first password, one more for each rotation.
    generation: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    rotated_at: Mapped[datetime | None] = mapped_column(default=None)


class ServiceCheck(db.Model):  # type: ignore[name-defined]
    """The last check of one service: its public endpoint and its administrator's login."""

    __tablename__ = "service_checks"
    __table_args__ = (UniqueConstraint("operator_id", "service"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    operator_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    service: Mapped[str] = mapped_column(String(32))
    deployment_id: Mapped[int | None] = mapped_column(
        ForeignKey("deployments.id", ondelete="SET NULL"), default=None
    )
    url: Mapped[str] = mapped_column(Text)
    # None: not checked (the machine is simulated).
    health_ok: Mapped[bool | None] = mapped_column(default=None)
    health_detail: Mapped[str] = mapped_column(Text, default="")
    username: Mapped[str] = mapped_column(String(255), default="")
    # "ok" | "failed" | "simulated"; None when the endpoint failed before a login was tried.
    login: Mapped[str | None] = mapped_column(String(16), default=None)
    login_detail: Mapped[str] = mapped_column(Text, default="")
    checked_at: Mapped[datetime] = mapped_column(default=utcnow)
