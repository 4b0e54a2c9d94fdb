"""VMs from the provider's pool of pre-deployed ones: assigned, kept, wiped and returned."""

from __future__ import annotations

from fedipanel.audit import log as audit_log
from fedipanel.audit.log import Action as Audited
from fedipanel.core.document import Host
from fedipanel.core.planner import Action, Change
from fedipanel.deployments.systems import MachineBackend
from fedipanel.keys.deploy_keys import deploy_key, private_key_pem
from fedipanel.machines import pool
from fedipanel.providers import ssh_wipe
from fedipanel.resources.records import forget
from fedipanel.storage.records import record_outcome
from jobs.runner import StepFailed
from jobs.steps.context import DeployContext


def provision_pool(ctx: DeployContext, changes: list[Change]) -> None:
    """Give each machine a pre-deployed VM from the provider's pool."""
    for change in changes:
        claimed = pool.assigned(ctx.operator.id, change.name) is None
        try:
            vm = pool.assign(ctx.operator.id, change.name)
        except pool.PoolError as exc:
            raise StepFailed(exc.message) from None
        if claimed:
            ctx.claimed.append(change.name)
        if change.action == Action.CREATE or claimed:
            ctx.progress.log([f"VM {change.name}: pre-deployed VM {vm.address} assigned"])
        elif change.starts_kept_machine:
            ctx.progress.log([f"VM {change.name}: pre-deployed VM {vm.address} in use again"])
        elif change.action == Action.UPDATE:
            ctx.progress.log(
                [f"VM {change.name}: pre-deployed VM {vm.address} keeps its size (not resizable)"]
            )
        facts = {"via": MachineBackend.POOL, "address": vm.address, "host_key": vm.host_key}
        ctx.record(change, facts, simulated=False)
        ctx.hosts[change.name] = Host(host=vm.address, user="root", host_public_key=vm.host_key)


def release_claimed(ctx: DeployContext) -> None:
    """Give back the pool VMs this deployment took and never put anything on."""
    for name in ctx.claimed:
        address = pool.release(ctx.operator.id, name, wiped=False)
        forget(ctx.operator.id, "machine", name)
        if address:
            ctx.progress.log([f"VM {name}: {address} returned to the pool unused"])
    ctx.claimed.clear()


def keep_pool(ctx: DeployContext, change: Change) -> None:
    """Leave the kept machine's pre-deployed VM as it is, assigned to the operator."""
    vm = pool.assigned(ctx.operator.id, change.name)
    if vm is None:
        outcome = f"machine {change.name}: its pre-deployed VM is no longer assigned"
        forget(ctx.operator.id, "machine", change.name)
    else:
        outcome = (
            f"machine {change.name}: pre-deployed VM {vm.address} stays yours, disk and "
            "database kept"
        )
        ctx.record(change, simulated=False)
    ctx.progress.log([outcome])
    if change.action != Action.KEEP:
        record_outcome(ctx.deployment.id, change.service or change.name, "keep", outcome)


def remove_pool(ctx: DeployContext, change: Change) -> None:
    """Wipe the machine's VM and return it to the pool; set it aside if the wipe fails."""
    vm = pool.assigned(ctx.operator.id, change.name)
    if vm is None:
        return
    service = change.service or change.name
    ctx.progress.log([f"VM {change.name}: wiping {vm.address} ({ctx.settings.wipe_command})"])
    try:
        wiped = ssh_wipe.wipe(
            vm.address,
            private_key_pem=private_key_pem(deploy_key(ctx.operator.id)),
            host_public_key=vm.host_key,
            command=ctx.settings.wipe_command,
            port=ctx.settings.vm_ssh_port,
            timeout=ctx.settings.wipe_timeout,
        )
    except ssh_wipe.WipeError as exc:
        reason = str(exc)
        address = pool.set_aside(ctx.operator.id, change.name, reason)
        audit_log.record(
            Audited.POOL_VM_NEEDS_ATTENTION,
            operator_id=ctx.operator.id,
            vm=address,
            machine=change.name,
            deployment=ctx.deployment.id,
            reason=reason,
        )
        outcome = (
            f"machine {change.name}: wiping VM {address} failed ({reason}); it is set aside "
            "until your provider has checked it"
        )
        ctx.progress.log([outcome])
        record_outcome(ctx.deployment.id, service, "delete", outcome)
        return
    if wiped.removed:
        ctx.progress.log([f"VM {change.name}: removed {', '.join(wiped.removed)}"])
    address = pool.release(ctx.operator.id, change.name, wiped=True)
    audit_log.record(
        Audited.POOL_VM_WIPED,
        operator_id=ctx.operator.id,
        vm=address,
        machine=change.name,
        deployment=ctx.deployment.id,
    )
    outcome = f"machine {change.name}: VM {address} wiped (database and files deleted)"
    ctx.progress.log([f"VM {change.name}: {address} wiped and returned to the pool"])
    record_outcome(ctx.deployment.id, service, "delete", outcome)
