"""Read and change the parameters pinned for an operator."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from sqlalchemy import select

from fedipanel.core.resources import MachineSize
from fedipanel.db import db
from fedipanel.parameters.models import OperatorParameters
from fedipanel.providers.proxmox.provision import Cluster


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


# The Proxmox settings that shape an operator's VMs (the rest is the cluster's, shared by all).
PROXMOX_PARAMETERS = ("template", "storage", "pool", "nodes")


def _cluster_json(cluster: Cluster) -> dict[str, Any]:
    return {
        "template": cluster.template,
        "storage": cluster.storage,
        "pool": cluster.pool,
        "nodes": list(cluster.nodes),
    }


def pinned_proxmox(operator_id: int) -> dict[str, Any] | None:
    """Return the Proxmox parameters pinned for the operator, or None before any."""
    row = _row(operator_id)
    return dict(row.proxmox) if row and row.proxmox else None


def pin_proxmox(operator_id: int, cluster: Cluster, *, replace: bool) -> None:
    """Pin the cluster's parameters for the operator: when none are pinned yet, or with
    `replace`. The caller commits."""
    row = _row(operator_id)
    if row is None:
        row = OperatorParameters(operator_id=operator_id)
        db.session.add(row)
    if row.proxmox and not replace:
        return
    row.proxmox = _cluster_json(cluster)


def cluster_for(operator_id: int, cluster: Cluster) -> Cluster:
    """Return the cluster settings for the operator's VMs: their pinned parameters over the
    provider's current ones."""
    pinned = pinned_proxmox(operator_id) or {}
    values = {key: pinned[key] for key in PROXMOX_PARAMETERS if key in pinned}
    if "nodes" in values:
        values["nodes"] = tuple(values["nodes"])
    return replace(cluster, **values)


def cluster_with(cluster: Cluster, parameters: Mapping[str, Any]) -> Cluster:
    """Return the cluster with a rollout's parameters applied."""
    values = {key: parameters[key] for key in PROXMOX_PARAMETERS if key in parameters}
    if "nodes" in values:
        values["nodes"] = tuple(values["nodes"] or ())
    return replace(cluster, **values)
