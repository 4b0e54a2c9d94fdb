"""Static addresses for Proxmox VMs from FEDIPANEL_VM_ADDRESSES, one per operator's machine."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from fedipanel.extensions import db
from fedipanel.machines.models import AddressLease


class AddressError(Exception):
    """The address range is malformed or used up."""


@dataclass(frozen=True)
class AddressRange:
    """`first-last/prefix`, e.g. 192.0.2.10-192.0.2.99/24."""

    first: ipaddress.IPv4Address | ipaddress.IPv6Address
    last: ipaddress.IPv4Address | ipaddress.IPv6Address
    prefix: int

    def __iter__(self) -> Iterator[str]:
        current = int(self.first)
        while current <= int(self.last):
            yield str(ipaddress.ip_address(current))
            current += 1

    def cidr(self, address: str) -> str:
        """Return the address with the range's prefix, as cloud-init wants it."""
        return f"{address}/{self.prefix}"


def parse_range(text: str | None) -> AddressRange:
    """Parse FEDIPANEL_VM_ADDRESSES; raise AddressError saying what is wrong."""
    if not text or "/" not in text:
        raise AddressError("must look like 192.0.2.10-192.0.2.99/24 (a range with its prefix)")
    span, _, prefix_text = text.strip().rpartition("/")
    first_text, _, last_text = span.partition("-")
    try:
        first = ipaddress.ip_address(first_text.strip())
        last = ipaddress.ip_address((last_text or first_text).strip())
        prefix = int(prefix_text)
        network = ipaddress.ip_network(f"{first}/{prefix}", strict=False)
    except ValueError as exc:
        raise AddressError(f"must look like 192.0.2.10-192.0.2.99/24 ({exc})") from None
    if first.version != last.version or int(last) < int(first):
        raise AddressError("the last address must come after the first")
    if last not in network:
        raise AddressError(f"{last} is outside {network}")
    return AddressRange(first, last, prefix)


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
