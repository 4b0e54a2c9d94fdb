"""The pool of pre-deployed VMs: handed to operators' machines, taken back when unused.

A VM goes back to the pool wiped (the deploy job runs `fedipanel-wipe` on it first). One whose
wipe failed is set aside with the reason ("needs attention") and never handed out again until
the provider clears it.
"""

from __future__ import annotations

from sqlalchemy import func, select, update

from fedipanel.core.validators import check_host, check_host_key
from fedipanel.db import db
from fedipanel.machines.models import PooledVm
from fedipanel.timeutil import utcnow


class PoolError(Exception):
    """A pool entry is invalid, in use, or the pool is empty; `field` names the input at fault."""

    def __init__(
        self, message: str, field: str = "", problems: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.message, self.field = message, field
        # Every input's problem, so that a form can show them all at once.
        self.problems = problems or {field: message}


def entries() -> list[PooledVm]:
    """Return every pooled VM, by address."""
    return list(db.session.scalars(select(PooledVm).order_by(PooledVm.address)))


def has_entries() -> bool:
    """Tell whether the provider entered any pre-deployed VM."""
    return bool(db.session.scalar(select(func.count()).select_from(PooledVm)))


def add(address: str, host_key: str) -> PooledVm:
    """Add a pre-deployed VM reachable over SSH at `address` with this host key."""
    problems: dict[str, str] = {}
    key = ""
    try:
        address = check_host(address)
    except ValueError as exc:
        problems["address"] = str(exc)
    try:
        key = check_host_key(host_key)
    except ValueError as exc:
        problems["host_key"] = str(exc)
    if (
        "address" not in problems
        and db.session.scalar(select(PooledVm).where(PooledVm.address == address)) is not None
    ):
        problems["address"] = "this address is already in the pool"
    if problems:
        field, message = next(iter(problems.items()))
        raise PoolError(message, field, problems)
    row = PooledVm(address=address, host_key=key)
    db.session.add(row)
    db.session.commit()
    return row


def entry(entry_id: int) -> PooledVm | None:
    """Return one pooled VM, if it exists."""
    row: PooledVm | None = db.session.get(PooledVm, entry_id)
    return row


def machines_of(operator_id: int) -> set[str]:
    """Return the names of the operator's machines that run on pooled VMs."""
    return {
        str(name)
        for name in db.session.scalars(
            select(PooledVm.machine).where(PooledVm.operator_id == operator_id)
        )
    }


def remove(entry_id: int) -> None:
    """Remove a free VM from the pool; one in use stays."""
    row = entry(entry_id)
    if row is None:
        raise PoolError("no such pool entry")
    if row.operator_id is not None:
        raise PoolError(
            f"{row.address} is in use by machine {row.machine}; it returns to the pool when "
            "the operator no longer uses it"
        )
    db.session.delete(row)
    db.session.commit()


def assigned_to(operator_id: int) -> list[PooledVm]:
    """Return every pooled VM the operator's machines use."""
    return list(
        db.session.scalars(
            select(PooledVm).where(PooledVm.operator_id == operator_id).order_by(PooledVm.id)
        )
    )


def assigned(operator_id: int, machine: str) -> PooledVm | None:
    """Return the pooled VM the machine uses, if any."""
    return db.session.scalar(
        select(PooledVm).where(PooledVm.operator_id == operator_id, PooledVm.machine == machine)
    )


def assign(operator_id: int, machine: str) -> PooledVm:
    """Return the machine's VM, taking a free one from the pool on first use."""
    for _ in range(20):
        current = assigned(operator_id, machine)
        if current is not None:
            return current
        free = db.session.scalar(
            select(PooledVm.id)
            .where(PooledVm.operator_id.is_(None), PooledVm.attention.is_(None))
            .order_by(PooledVm.id)
        )
        if free is None:
            raise PoolError(
                f"no free pre-deployed VM left for machine {machine}: ask your provider to add "
                "one to the pool"
            )
        # Only one deployment can take a given free row: the update matches nothing otherwise.
        taken = db.session.execute(
            update(PooledVm)
            .where(
                PooledVm.id == free, PooledVm.operator_id.is_(None), PooledVm.attention.is_(None)
            )
            .values(operator_id=operator_id, machine=machine, assigned_at=utcnow())
        )
        db.session.commit()
        if taken.rowcount:  # type: ignore[attr-defined]
            row = db.session.get(PooledVm, free)
            assert row is not None  # noqa: S101 - just taken
            db.session.refresh(row)
            return row
    raise PoolError("the pool is too contended right now; try again")


def release(operator_id: int, machine: str, *, wiped: bool) -> str | None:
    """Return the machine's VM to the pool (`wiped`, or never used); answer its address."""
    row = assigned(operator_id, machine)
    if row is None:
        return None
    row.operator_id, row.machine, row.assigned_at = None, None, None
    if wiped:
        row.wiped_at = utcnow()
    db.session.commit()
    return row.address


def needing_attention(addresses: list[str]) -> list[PooledVm]:
    """Return the VMs among these addresses that are set aside, waiting for the provider."""
    return list(
        db.session.scalars(
            select(PooledVm).where(PooledVm.address.in_(addresses), PooledVm.attention.is_not(None))
        )
    )


def set_aside(operator_id: int, machine: str, reason: str) -> str | None:
    """Take the machine's VM from the operator but keep it out of the pool: it needs attention."""
    row = assigned(operator_id, machine)
    if row is None:
        return None
    row.operator_id, row.machine, row.assigned_at = None, None, None
    row.attention, row.attention_at = reason, utcnow()
    db.session.commit()
    return row.address


def clear(entry_id: int) -> tuple[str, str]:
    """Hand a VM that needed attention out again; return its address and the reason it had."""
    row = db.session.get(PooledVm, entry_id)
    if row is None:
        raise PoolError("no such pool entry")
    if row.attention is None:
        raise PoolError(f"{row.address} does not need attention")
    reason = row.attention
    row.attention, row.attention_at = None, None
    db.session.commit()
    return row.address, reason


def machines_of_many(operator_ids: list[int]) -> dict[int, set[str]]:
    """Return `machines_of` of many operators at once."""
    found: dict[int, set[str]] = {i: set() for i in operator_ids}
    rows = db.session.execute(
        select(PooledVm.operator_id, PooledVm.machine).where(PooledVm.operator_id.in_(operator_ids))
    )
    for operator_id, machine in rows:
        if operator_id is not None:
            found[operator_id].add(str(machine))
    return found
