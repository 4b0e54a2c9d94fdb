"""Machines: provision what the plan creates or changes, keep what a disabled service keeps,
remove what it deletes."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace

from fedipanel.core.document import Host
from fedipanel.core.planner import Action, Change, DataFate
from fedipanel.core.text import N_
from fedipanel.db import db
from fedipanel.deployments.systems import MachineBackend, machine_backend
from fedipanel.machines import quota
from fedipanel.parameters import pins
from fedipanel.providers.proxmox.settings import ProxmoxSettings
from fedipanel.resources.records import recorded_facts
from fedipanel.storage.records import record_outcome
from jobs.runner import StepFailed
from jobs.steps import pool_vms, vms
from jobs.steps.context import DeployContext

log = logging.getLogger(__name__)


def check_quota(ctx: DeployContext) -> None:
    """Check again in the worker: another deployment may have changed things since the plan."""
    ctx.progress.phase(N_("Checking quota"), 5)
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
    found = ctx.settings.proxmox
    # The operator's VMs keep the parameters pinned for them until a rollout brings new ones.
    return replace(found, cluster=pins.cluster_for(ctx.operator.id, found.cluster))


def _running(ctx: DeployContext) -> list[Change]:
    """Return the machine changes whose machines run once deployed (not the kept ones)."""
    return [c for c in ctx.changes("machine") if c.data != DataFate.KEEP]


def provision(ctx: DeployContext) -> None:
    ctx.progress.phase(N_("Provisioning machines"), 10)
    backend = machine_backend(ctx.settings)
    if backend == MachineBackend.PROXMOX:
        vms.provision_proxmox(ctx, _proxmox(ctx, ""), _running(ctx))
        return
    if backend == MachineBackend.POOL:
        pool_vms.provision_pool(ctx, _running(ctx))
        return
    known = recorded_facts(ctx.operator.id, "machine")
    taken = {facts.get("address") for facts in known.values()}
    for change in _running(ctx):
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


@contextmanager
def returning_unused(ctx: DeployContext) -> Iterator[None]:
    """On a failure within, give back the pool VMs taken meanwhile: nothing was put on them."""
    try:
        yield
    except BaseException:
        if ctx.claimed:
            try:
                db.session.rollback()
                pool_vms.release_claimed(ctx)
            except Exception:
                # The failure that got us here is what the operator must see; this one is logged.
                log.exception("could not return unused pool VMs of deployment %s", ctx.deployment)
        raise


def keep(ctx: DeployContext) -> None:
    """Shut down the machines kept for disabled services, now that the rest succeeded."""
    kept = [c for c in ctx.changes("machine") if c.data == DataFate.KEEP]
    if not kept:
        return
    ctx.progress.phase(N_("Keeping the machines of removed services"), 90)
    known = recorded_facts(ctx.operator.id, "machine")
    for change in kept:
        via = (known.get(change.name) or {}).get("via")
        if via == MachineBackend.PROXMOX:
            vms.keep_proxmox(ctx, change, _proxmox(ctx, f"cannot keep VM {change.name}: "))
        elif via == MachineBackend.POOL:
            pool_vms.keep_pool(ctx, change)
        else:
            outcome = f"machine {change.name} shut down, disk and database kept"
            if change.action != Action.KEEP:
                ctx.simulate(f"shut down VM {change.name}, tag it kept; its disk stays")
                record_outcome(ctx.deployment.id, change.service or change.name, "keep", outcome)
            ctx.record(change, simulated=True)


def remove(ctx: DeployContext, change: Change) -> None:
    via = (recorded_facts(ctx.operator.id, "machine").get(change.name) or {}).get("via")
    if via == MachineBackend.PROXMOX:
        vms.remove_proxmox(ctx, change, _proxmox(ctx, f"cannot remove VM {change.name}: "))
    elif via == MachineBackend.POOL:
        pool_vms.remove_pool(ctx, change)
    else:
        ctx.simulate(f"stop and delete VM {change.name} with its disk")


def _next_simulated_address(taken: set[str | None]) -> str:
    """Pick a documentation-range address (RFC 5737) for a simulated machine."""
    for last in range(10, 250):
        address = f"192.0.2.{last}"
        if address not in taken:
            return address
    raise StepFailed("no free simulated address left")
