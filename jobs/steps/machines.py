"""Machines: provision what the plan creates or changes, remove what it deletes."""

from __future__ import annotations

from fedipanel.core.document import Host
from fedipanel.core.planner import Action, Change
from fedipanel.deployments.systems import MachineBackend, machine_backend
from fedipanel.machines import quota
from fedipanel.providers.proxmox.settings import ProxmoxSettings
from fedipanel.resources.records import recorded_facts
from jobs.runner import StepFailed
from jobs.steps import vms
from jobs.steps.context import DeployContext


def check_quota(ctx: DeployContext) -> None:
    """Check again in the worker: another deployment may have changed things since the plan."""
    ctx.progress.phase("Checking quota", 5)
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


def _proxmox(ctx: DeployContext, doing: str) -> ProxmoxSettings:
    if ctx.settings.proxmox is None:
        problem = ctx.settings.problems.get("proxmox", "Proxmox is no longer configured")
        raise StepFailed(f"{doing}{problem}")
    return ctx.settings.proxmox


def provision(ctx: DeployContext) -> None:
    ctx.progress.phase("Provisioning machines", 10)
    backend = machine_backend(ctx.settings)
    if backend == MachineBackend.PROXMOX:
        vms.provision_proxmox(ctx, _proxmox(ctx, ""))
        return
    if backend == MachineBackend.POOL:
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
        if change.action != Action.KEEP:
            ctx.simulate(
                f"{change.action} VM {change.name}: {spec['cores']} vCPU, "
                f"{spec['memory_mib']} MiB memory, {spec['disk_gib']} GiB disk, "
                f"address {facts['address']}"
            )
        ctx.record(change, facts, simulated=True)
        ctx.hosts[change.name] = Host(host=facts["address"], user="root", host_public_key=None)
    missing = set(ctx.state.machines) - set(ctx.hosts)
    if missing:
        raise StepFailed(f"no address for machine(s): {', '.join(sorted(missing))}")


def remove(ctx: DeployContext, change: Change) -> None:
    via = (recorded_facts(ctx.operator.id, "machine").get(change.name) or {}).get("via")
    if via == MachineBackend.PROXMOX:
        vms.remove_proxmox(ctx, change, _proxmox(ctx, f"cannot remove VM {change.name}: "))
    elif via == MachineBackend.POOL:
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
