"""Read and change the parameters pinned for an operator."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select

from fedipanel.core.resources import MachineSize
from fedipanel.db import db
from fedipanel.parameters.models import OperatorParameters


def _row(operator_id: int) -> OperatorParameters | None:
    return db.session.scalar(
        select(OperatorParameters).where(OperatorParameters.operator_id == operator_id)
    )


def _as_json(sizes: Mapping[str, MachineSize]) -> dict[str, Any]:
    return {
        name: {"cores": s.cores, "memory_mib": s.memory_mib, "disk_gib": s.disk_gib}
        for name, s in sorted(sizes.items())
    }


def sizes_for(operator_id: int, current: Mapping[str, MachineSize]) -> dict[str, MachineSize]:
    """Return the sizes the operator's plans use: their pinned ones over the provider's current."""
    row = _row(operator_id)
    return sizes_with_pin(row.sizes if row else None, current)


def pin_sizes(operator_id: int, sizes: Mapping[str, MachineSize], *, replace: bool) -> None:
    """Pin sizes for the operator: all of them when none are pinned yet, or, with `replace`,
    these over the pinned ones. The caller commits."""
    row = _row(operator_id)
    if row is None:
        row = OperatorParameters(operator_id=operator_id)
        db.session.add(row)
    if row.sizes and not replace:
        return
    row.sizes = {**(row.sizes or {}), **_as_json(sizes)}


def flake_lock_for(operator_id: int) -> dict[str, Any] | None:
    """Return the flake.lock pinned for the operator, or None for the flake's own."""
    row = _row(operator_id)
    return row.flake_lock if row else None


def pin_flake_lock(operator_id: int, lock: dict[str, Any]) -> None:
    """Pin the flake's inputs for the operator (the caller commits)."""
    row = _row(operator_id)
    if row is None:
        row = OperatorParameters(operator_id=operator_id)
        db.session.add(row)
    row.flake_lock = lock


def pinned_sizes_of(operator_ids: list[int]) -> dict[int, dict[str, Any]]:
    """Return the sizes pinned for many operators (those with a pin), as stored."""
    rows = db.session.execute(
        select(OperatorParameters.operator_id, OperatorParameters.sizes).where(
            OperatorParameters.operator_id.in_(operator_ids)
        )
    )
    return {operator_id: sizes for operator_id, sizes in rows if sizes}


def sizes_with_pin(
    pinned: Mapping[str, Any] | None, current: Mapping[str, MachineSize]
) -> dict[str, MachineSize]:
    """Return the pinned sizes over the provider's current ones."""
    sizes = dict(current)
    for name, size in (pinned or {}).items():
        sizes[name] = MachineSize(size["cores"], size["memory_mib"], size["disk_gib"])
    return sizes
