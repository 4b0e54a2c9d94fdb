"""Machines: provision what the plan creates or changes, remove what it deletes."""

from __future__ import annotations

from fedipanel.configurator import Host
from fedipanel.deployments.resources import recorded_facts
from fedipanel.planning import Change
from jobs.runner import StepFailed
from jobs.steps.context import DeployContext


def check_quota(ctx: DeployContext) -> None:
    ctx.progress.phase("Checking quota", 5)
    ctx.progress.log(["No quota is set for this operator."])


def provision(ctx: DeployContext) -> None:
    ctx.progress.phase("Provisioning machines", 10)
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
    ctx.simulate(f"stop and delete VM {change.name}")


def _next_simulated_address(taken: set[str | None]) -> str:
    """Pick a documentation-range address (RFC 5737) for a simulated machine."""
    for last in range(10, 250):
        address = f"192.0.2.{last}"
        if address not in taken:
            return address
    raise StepFailed("no free simulated address left")
