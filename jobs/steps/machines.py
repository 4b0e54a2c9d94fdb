"""Machines: provision what the plan creates or changes, remove what it deletes."""

from __future__ import annotations

from fedipanel.configurator import Host
from fedipanel.deployments.resources import recorded_facts
from fedipanel.machines import quota
from fedipanel.machines.service import POOL, PROXMOX, backend, proxmox_settings
from fedipanel.planning import Change
from jobs.runner import StepFailed
from jobs.steps import vms
from jobs.steps.context import DeployContext


def check_quota(ctx: DeployContext) -> None:
    """Check again in the worker: another deployment may have changed things since the plan."""
    ctx.progress.phase("Checking quota", 5)
    assert ctx.plan is not None  # noqa: S101 - set by the planning step
    refused = quota.refusals(ctx.plan)
    if refused:
        raise StepFailed("; ".join(refused) + ". Nothing was changed.")
    found = quota.report(ctx.operator.id, ctx.plan)
    if found.problems:
        raise StepFailed(f"{found.message()} Nothing was changed.")
    if found.quota == quota.UNLIMITED:
        ctx.progress.log(["No quota is set for this operator."])
    else:
        used = ", ".join(
            f"{found.peak.get(key)}/{'∞' if found.quota.get(key) is None else found.quota.get(key)}"
            f" {label}"
            for key, label in quota.FIELDS
        )
        ctx.progress.log([f"Within quota: {used}."])


def provision(ctx: DeployContext) -> None:
    ctx.progress.phase("Provisioning machines", 10)
    kind = backend()
    if kind == PROXMOX:
        try:
            settings = proxmox_settings()
        except ValueError as exc:
            raise StepFailed(str(exc)) from None
        vms.provision_proxmox(ctx, settings)
        return
    if kind == POOL:
        vms.provision_pool(ctx)
        return
    known = recorded_facts(ctx.operator.id, "machine")
    taken = {facts.get("address") for facts in known.values()}
    for change in ctx.changes("machine"):
        facts = known.get(change.name) or {}
        if not facts.get("address"):
            facts = {"address": _next_simulated_address(taken)}
            taken.add(facts["address"])
        spec = change.spec
        if change.action != "keep":
            ctx.simulate(
                f"{change.action} VM {change.name}: {spec['cores']} vCPU, "
                f"{spec['memory_mib']} MiB memory, {spec['disk_gib']} GiB disk, "
                f"address {facts['address']}"
            )
        ctx.record(change, facts, simulated=True)
        ctx.hosts[change.name] = Host(host=facts["address"], user="root", host_public_key=None)
    assert ctx.state is not None  # noqa: S101 - set by the planning step
    missing = set(ctx.state.machines) - set(ctx.hosts)
    if missing:
        raise StepFailed(f"no address for machine(s): {', '.join(sorted(missing))}")


def remove(ctx: DeployContext, change: Change) -> None:
    via = (recorded_facts(ctx.operator.id, "machine").get(change.name) or {}).get("via")
    if via == PROXMOX:
        try:
            settings = proxmox_settings()
        except ValueError as exc:
            raise StepFailed(f"cannot remove VM {change.name}: {exc}") from None
        vms.remove_proxmox(ctx, change, settings)
    elif via == POOL:
        vms.remove_pool(ctx, change)
    else:
        ctx.simulate(f"stop and delete VM {change.name}")


def _next_simulated_address(taken: set[str | None]) -> str:
    """Pick a documentation-range address (RFC 5737) for a simulated machine."""
    for last in range(10, 250):
        address = f"192.0.2.{last}"
        if address not in taken:
            return address
    raise StepFailed("no free simulated address left")
