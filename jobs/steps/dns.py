"""DNS records for each service host, pointing at its machine."""

from __future__ import annotations

from fedipanel.core.planner import Action, Change
from jobs.steps.context import DeployContext


def create(ctx: DeployContext) -> None:
    ctx.progress.phase("Creating DNS records", 35)
    for change in ctx.changes("dns_record"):
        host = ctx.hosts.get(str(change.spec.get("machine")))
        address = host.host if host else "?"
        if change.action != Action.KEEP:
            ctx.simulate(f"{change.spec.get('type', 'A')} {change.name} -> {address}")
        ctx.record(change, {"address": address}, simulated=True)


def remove(ctx: DeployContext, change: Change) -> None:
    ctx.simulate(f"delete DNS record {change.name}")
