"""What FediPanel created for an operator and still owns, as it was when last changed."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from fedipanel.db import db
from fedipanel.timeutil import utcnow


class RecordedResource(db.Model):  # type: ignore[name-defined]
    """A resource FediPanel created for an operator and still owns."""

    __tablename__ = "resources"
    __table_args__ = (UniqueConstraint("operator_id", "kind", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    operator_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    # A DNS record's name is the service's host name: a 63-character subdomain of a domain of
    # up to 200 characters is longer than 255. Unbounded, as SQLite has always stored it.
    name: Mapped[str] = mapped_column(Text)
    spec: Mapped[dict[str, Any]] = mapped_column(JSON)
    # What the outside world told us (VM id, address, ...); never a secret.
    facts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    simulated: Mapped[bool] = mapped_column(default=False)
    deployment_id: Mapped[int | None] = mapped_column(
        ForeignKey("deployments.id", ondelete="SET NULL")
    )
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
