"""Secrets: the deploy key and mail settings, and the files the machines need."""

from __future__ import annotations

from jobs.steps.context import DeployContext


def deliver(ctx: DeployContext) -> None:
    ctx.progress.phase("Delivering secrets", 45)
    for change in ctx.changes("ssh_key", "mail"):
        ctx.record(change, simulated=change.kind != "ssh_key")
    for name in ctx.hosts:
        ctx.simulate(f"secrets copied to {name} (/var/lib/fedipanel/keys, mode 0400)")
