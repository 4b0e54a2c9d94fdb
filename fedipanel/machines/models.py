"""Quotas, the pool of pre-deployed VMs and the static addresses given to Proxmox VMs."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from fedipanel.db import db
from fedipanel.timeutil import utcnow


class Quota(db.Model):  # type: ignore[name-defined]
    """The most an operator may use; None means unlimited."""

    __tablename__ = "quotas"

    operator_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    vms: Mapped[int | None]
    cores: Mapped[int | None]
    memory_mib: Mapped[int | None]
    disk_gib: Mapped[int | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class PooledVm(db.Model):  # type: ignore[name-defined]
    """A VM the provider deployed itself, handed to one operator's machine at a time."""

    __tablename__ = "vm_pool"
    __table_args__ = (UniqueConstraint("operator_id", "machine"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    address: Mapped[str] = mapped_column(String(255), unique=True)
    host_key: Mapped[str] = mapped_column(Text)
    operator_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    machine: Mapped[str | None] = mapped_column(String(64))
    assigned_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # When it was last wiped on its way back to the pool.
    wiped_at: Mapped[datetime | None]
    # Why it needs the provider's attention (its wipe failed): never handed out until cleared.
    attention: Mapped[str | None] = mapped_column(Text)
    attention_at: Mapped[datetime | None]


class AddressLease(db.Model):  # type: ignore[name-defined]
    """A static address from FEDIPANEL_VM_ADDRESSES given to one operator's machine."""

    __tablename__ = "vm_addresses"
    __table_args__ = (UniqueConstraint("operator_id", "machine"),)

    # The primary key is what keeps two concurrent deployments from taking the same address.
    address: Mapped[str] = mapped_column(String(64), primary_key=True)
    operator_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    machine: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
