"""Leases of static addresses for Proxmox VMs, one per operator's machine, from the range."""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from fedipanel.db import db
from fedipanel.machines.models import AddressLease
from fedipanel.providers.proxmox.addresses import AddressError, AddressRange


def lease(operator_id: int, machine: str, addresses: AddressRange, avoid: set[str]) -> str:
    """Return the machine's address, taking the first free one in the range on first use."""
    existing = db.session.scalar(
        select(AddressLease.address).where(
            AddressLease.operator_id == operator_id, AddressLease.machine == machine
        )
    )
    if existing is not None:
        return str(existing)
    for address in addresses:
        if address in avoid or db.session.get(AddressLease, address) is not None:
            continue
        db.session.add(AddressLease(address=address, operator_id=operator_id, machine=machine))
        try:
            db.session.commit()
        except IntegrityError:  # another deployment took it (or this machine) meanwhile
            db.session.rollback()
            return lease(operator_id, machine, addresses, avoid | {address})
        return address
    raise AddressError("no free address left in FEDIPANEL_VM_ADDRESSES; widen the range")


def leased(operator_id: int, machine: str) -> str | None:
    """Return the machine's address, if it has one."""
    return db.session.scalar(
        select(AddressLease.address).where(
            AddressLease.operator_id == operator_id, AddressLease.machine == machine
        )
    )


def release(operator_id: int, machine: str) -> None:
    """Give the machine's address back to the range."""
    db.session.execute(
        delete(AddressLease).where(
            AddressLease.operator_id == operator_id, AddressLease.machine == machine
        )
    )
    db.session.commit()
