"""S3 storage: buckets and access keys per service."""

from __future__ import annotations

from fedipanel.planning import Change
from jobs.steps.context import DeployContext


def create(ctx: DeployContext) -> None:
    ctx.progress.phase("Creating buckets and keys", 25)
    for change in ctx.changes("s3_bucket", "s3_key"):
        if change.action != "keep":
            ctx.simulate(f"{change.action} {change.kind.replace('_', ' ')} {change.name}")
        ctx.record(change, simulated=True)


def remove(ctx: DeployContext, change: Change) -> None:
    ctx.simulate(f"delete {change.kind.replace('_', ' ')} {change.name}")
