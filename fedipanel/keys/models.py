"""Key pairs the panel generates for an operator: the deploy key and DKIM keys."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from fedipanel.db import db
from fedipanel.timeutil import utcnow


class DeployKey(db.Model):  # type: ignore[name-defined]
    """The SSH key nixops4 and the panel use to reach an operator's machines."""

    __tablename__ = "deploy_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    operator_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), unique=True
    )
    public_key: Mapped[str] = mapped_column(Text)
    private_key_encrypted: Mapped[str] = mapped_column(Text)
    # The key that replaces this one while the operator is rekeyed: authorized on the machines
    # beside it, promoted once that deployment succeeded.
    next_public_key: Mapped[str | None] = mapped_column(Text)
    next_private_key_encrypted: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class DkimKey(db.Model):  # type: ignore[name-defined]
    """The RSA key pair an operator's machines sign their mail with, for one sending domain."""

    __tablename__ = "dkim_keys"
    __table_args__ = (UniqueConstraint("operator_id", "domain", "selector"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    operator_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    domain: Mapped[str] = mapped_column(Text)
    selector: Mapped[str] = mapped_column(Text)
    public_key: Mapped[str] = mapped_column(Text)
    private_key_encrypted: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
