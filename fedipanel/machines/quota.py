"""Quotas: what an operator's machines use against what the provider allows."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from fedipanel.core.planner import Plan
from fedipanel.db import db
from fedipanel.machines.models import Quota

# The largest limit one can set: far beyond any cluster, small enough for every database integer.
MAX_LIMIT = 10**9
FIELDS: tuple[tuple[str, str], ...] = (
    ("vms", "VMs"),
    ("cores", "vCPUs"),
    ("memory_mib", "MiB memory"),
    ("disk_gib", "GiB disk"),
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


def total_usage(specs: Iterable[Mapping[str, Any]]) -> Usage:
    """Return what machines of these specs use together."""
    rows = list(specs)
    return Usage(
        vms=len(rows),
        cores=sum(int(s.get("cores", 0)) for s in rows),
        memory_mib=sum(int(s.get("memory_mib", 0)) for s in rows),
        disk_gib=sum(int(s.get("disk_gib", 0)) for s in rows),
    )


def final_usage(plan: Plan) -> Usage:
    """Return what the operator's machines use once the plan is applied."""
    return total_usage(c.spec for c in plan.changes if c.kind == "machine" and c.action != "delete")


def peak_usage(plan: Plan) -> Usage:
    """Return the most the machines use while the plan is applied.

    Machines to remove still exist until the rest succeeded, and a resized one counts at its
    larger size, so the quota holds at every moment, not only at the end.
    """
    specs: list[Mapping[str, Any]] = []
    for change in plan.changes:
        if change.kind != "machine":
            continue
        if change.action == "update" and change.previous:
            old = change.previous
            specs.append(
                {
                    k: max(int(change.spec.get(k, 0)), int(old.get(k, 0)))
                    for k in ("cores", "memory_mib", "disk_gib")
                }
            )
        else:
            specs.append(change.spec)
    return total_usage(s for s in specs if "cores" in s)


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
    quota = quota_of(operator_id)
    peak = peak_usage(plan)
    return QuotaReport(final_usage(plan), peak, quota, exceeded(peak, quota))


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
    }
