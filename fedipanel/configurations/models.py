"""Each save of an operator's configuration is a new, immutable version."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from fedipanel.db import db
from fedipanel.timeutil import utcnow


class ConfigurationVersion(db.Model):  # type: ignore[name-defined]
    """One saved version of an operator's configuration."""

    __tablename__ = "configuration_versions"
    __table_args__ = (UniqueConstraint("operator_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    operator_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    version: Mapped[int]
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    source: Mapped[str] = mapped_column(default="web")  # "web" or "api"
