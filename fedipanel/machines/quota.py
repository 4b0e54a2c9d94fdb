"""Quotas: what an operator's machines use against what the provider allows."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from fedipanel.core.planner import KEPT, Action, Plan
from fedipanel.core.text import N_
from fedipanel.core.validators import whole_number
from fedipanel.db import db
from fedipanel.machines.models import Quota

# The largest limit one can set: far beyond any cluster, small enough for every database integer.
MAX_LIMIT = 10**9
FIELDS: tuple[tuple[str, str], ...] = (
    ("vms", N_("VMs")),
    ("cores", N_("vCPUs")),
    ("memory_mib", N_("MiB memory")),
    ("disk_gib", N_("GiB disk")),
)


@dataclass(frozen=True)
class Usage:
    """VMs, vCPUs, memory and disk, used or allowed (None: unlimited)."""

    vms: int | None = 0
    cores: int | None = 0
    memory_mib: int | None = 0
    disk_gib: int | None = 0

    def get(self, key: str) -> int | None:
        value: int | None = getattr(self, key)
        return value


UNLIMITED = Usage(None, None, None, None)


def parse_quota(typed: Mapping[str, str]) -> tuple[dict[str, int | None], dict[str, str]]:
    """Parse typed limits (empty: unlimited); return them and {field: problem} for each bad one."""
    limits: dict[str, int | None] = {}
    problems: dict[str, str] = {}
    for key, label in FIELDS:
        text = typed.get(key, "").strip()
        try:
            limits[key] = whole_number(text, 0, MAX_LIMIT) if text else None
        except ValueError as exc:
            problems[key] = f"{label} {exc}, or empty for unlimited"
    return limits, problems


def machine_usage(spec: Mapping[str, Any]) -> dict[str, int]:
    """Return what one machine takes: a kept one only its disk, its VM being shut down."""
    running = not spec.get(KEPT)
    return {
        "cores": int(spec.get("cores", 0)) if running else 0,
        "memory_mib": int(spec.get("memory_mib", 0)) if running else 0,
        "disk_gib": int(spec.get("disk_gib", 0)),
    }


def total_usage(specs: Iterable[Mapping[str, Any]]) -> Usage:
    """Return what machines of these specs use together (kept ones count as VMs with disk)."""
    rows = [machine_usage(spec) for spec in specs]
    return Usage(
        vms=len(rows),
        cores=sum(r["cores"] for r in rows),
        memory_mib=sum(r["memory_mib"] for r in rows),
        disk_gib=sum(r["disk_gib"] for r in rows),
    )


def final_usage(plan: Plan) -> Usage:
    """Return what the operator's machines use once the plan is applied."""
    return total_usage(
        c.spec for c in plan.changes if c.kind == "machine" and c.action != Action.DELETE
    )


def peak_usage(plan: Plan) -> Usage:
    """Return the most the machines use while the plan is applied.

    Machines to remove still exist until the rest succeeded, a resized one counts at its larger
    size and one being kept runs until the end, so the quota holds at every moment, not only at
    the end.
    """
    specs: list[Mapping[str, Any]] = []
    for change in plan.changes:
        if change.kind != "machine" or "cores" not in change.spec:
            continue
        if change.action == Action.UPDATE and change.previous:
            old, new = machine_usage(change.previous), machine_usage(change.spec)
            specs.append({key: max(old[key], new[key]) for key in new})
        else:
            specs.append(change.spec)
    return total_usage(specs)


def kept_note(plan: Plan) -> str:
    """Say how the machines kept for disabled services count against the quota."""
    kept = [c for c in plan.changes if c.kind == "machine" and c.spec.get(KEPT)]
    if not kept:
        return ""
    names = ", ".join(c.name for c in kept)
    disk = sum(int(c.spec.get("disk_gib", 0)) for c in kept)
    if len(kept) == 1:
        return (
            f"Kept machine {names} counts as 1 VM with its {disk} GiB disk; its vCPUs and "
            "memory are free while it is kept."
        )
    return (
        f"Kept machines {names} count as {len(kept)} VMs with their {disk} GiB of disk; their "
        "vCPUs and memory are free while they are kept."
    )


def exceeded(usage: Usage, quota: Usage) -> list[str]:
    """Return one plain line per resource the usage takes beyond the quota."""
    out = []
    for key, label in FIELDS:
        limit, used = quota.get(key), usage.get(key) or 0
        if limit is not None and used > limit:
            out.append(f"{used} {label} needed, quota {limit}")
    return out


def refusals(plan: Plan) -> list[str]:
    """Return why the plan cannot be applied as it stands (disks never shrink)."""
    out = []
    for change in plan.changes:
        if change.kind == "machine" and change.action == "update" and change.previous:
            old, new = int(change.previous.get("disk_gib", 0)), int(change.spec.get("disk_gib", 0))
            if new < old:
                out.append(
                    f"machine {change.name}: its disk cannot shrink from {old} GiB to {new} GiB; "
                    "ask your provider to keep the disk size (or remove the service and add it "
                    "again, losing its data)"
                )
    return out


def quota_of(operator_id: int) -> Usage:
    """Return the operator's quota (unlimited where the provider set none)."""
    row = db.session.get(Quota, operator_id)
    if row is None:
        return UNLIMITED
    return Usage(row.vms, row.cores, row.memory_mib, row.disk_gib)


def set_quota(operator_id: int, quota: Usage) -> None:
    """Store the operator's quota; None fields are unlimited."""
    row = db.session.get(Quota, operator_id)
    if row is None:
        row = Quota(operator_id=operator_id)
        db.session.add(row)
    row.vms, row.cores = quota.vms, quota.cores
    row.memory_mib, row.disk_gib = quota.memory_mib, quota.disk_gib
    db.session.commit()


@dataclass(frozen=True)
class QuotaReport:
    """Usage against quota for one plan, with what would exceed it."""

    final: Usage
    peak: Usage
    quota: Usage
    problems: list[str]

    def message(self) -> str:
        """Return the refusal in one sentence with the numbers."""
        text = "This deployment would exceed your quota: " + "; ".join(self.problems) + "."
        if exceeded(self.final, self.quota) == []:
            text += (
                " Machines being removed still exist while the deployment runs: deploy the "
                "removal first, then add the new service."
            )
        return text


def report(operator_id: int, plan: Plan) -> QuotaReport:
    """Compare the plan's usage, at its peak, with the operator's quota."""
    return report_with(quota_of(operator_id), plan)


def plan_json(operator: Any, plan: Plan) -> dict[str, Any]:
    """Return the plan API's `quota` and `refusals` members."""
    found = report(operator.id, plan)

    def as_dict(usage: Usage) -> dict[str, int | None]:
        return {key: usage.get(key) for key, _ in FIELDS}

    return {
        "quota": {
            "limits": as_dict(found.quota),
            "final": as_dict(found.final),
            "peak": as_dict(found.peak),
            "exceeded": found.problems,
            "kept": kept_note(plan),
        },
        "refusals": refusals(plan),
    }


def plan_summary(operator_id: int, plan: Plan) -> dict[str, Any]:
    """Return what the plan page says about machines: quota, refusals, whether Deploy can go."""
    found = report(operator_id, plan)
    refused = refusals(plan)
    return {
        "report": found,
        "fields": FIELDS,
        "refusals": refused,
        "blocked": bool(refused or found.problems),
        "message": found.message() if found.problems else "",
        "kept": kept_note(plan),
    }


def quotas_of(operator_ids: list[int]) -> dict[int, Usage]:
    """Return `quota_of` of many operators at once."""
    rows = db.session.scalars(select(Quota).where(Quota.operator_id.in_(operator_ids)))
    found = {
        row.operator_id: Usage(row.vms, row.cores, row.memory_mib, row.disk_gib) for row in rows
    }
    return {i: found.get(i, UNLIMITED) for i in operator_ids}


def report_with(quota: Usage, plan: Plan) -> QuotaReport:
    """Compare the plan's usage, at its peak, with a quota already read."""
    peak = peak_usage(plan)
    return QuotaReport(final_usage(plan), peak, quota, exceeded(peak, quota))
