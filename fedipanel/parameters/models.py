"""The provider parameters an operator's deployments use."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey
from sqlalchemy.orm import Mapped, mapped_column

from fedipanel.db import db
from fedipanel.timeutil import utcnow


class OperatorParameters(db.Model):  # type: ignore[name-defined]
    """Sizes, Proxmox parameters and flake.lock pinned for an operator (None: the provider's)."""

    __tablename__ = "operator_parameters"

    id: Mapped[int] = mapped_column(primary_key=True)
    operator_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), unique=True
    )
    # {"mastodon": {"cores": 2, "memory_mib": 4096, "disk_gib": 40}, ...}
    sizes: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # {"template": 9000, "storage": "linstor", "pool": "fedipanel", "nodes": ["pve1"]}
    proxmox: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    flake_lock: Mapped[dict[str, Any] | None] = mapped_column(JSON, deferred=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
