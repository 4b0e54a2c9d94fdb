"""Real machines: VMs on Proxmox, or VMs from the provider's pool of pre-deployed ones."""

from __future__ import annotations

from typing import Any

from fedipanel.audit import log as audit_log
from fedipanel.audit.log import Action as Audited
from fedipanel.core.document import Host
from fedipanel.core.planner import KEPT, Action, Change, DataFate
from fedipanel.core.resources import MachineSize
from fedipanel.deployments.systems import MachineBackend
from fedipanel.keys.deploy_keys import deploy_key, private_key_pem
from fedipanel.machines import addresses, pool
from fedipanel.providers import ssh_hostkey, ssh_wipe
from fedipanel.providers.proxmox import provision
from fedipanel.providers.proxmox.addresses import AddressError
from fedipanel.providers.proxmox.client import Client, ProxmoxError
from fedipanel.providers.proxmox.settings import ProxmoxSettings
from fedipanel.resources.records import forget, recorded_facts
from fedipanel.storage.records import record_outcome
from jobs.runner import StepFailed
from jobs.steps.context import DeployContext


def _client(ctx: DeployContext, settings: ProxmoxSettings) -> Client:
    try:
        return Client(settings.connection, ctx.settings.proxmox_retry)
    except ProxmoxError as exc:
        raise StepFailed(f"Proxmox: {exc.message}") from None


def _find(client: Client, slug: str, machine: str, facts: dict[str, Any]) -> provision.Vm | None:
    """Find the machine's VM by its recorded id, else by its name and tags."""
    if facts.get("vmid") and facts.get("node"):
        vm = provision.vm_at(client, str(facts["node"]), int(facts["vmid"]))
        if vm is not None and vm.name == provision.vm_name(slug, machine):
            return vm
        # Gone, or the id was reused for another VM.
    return provision.find_vm(client, slug, machine)


def provision_proxmox(ctx: DeployContext, settings: ProxmoxSettings, changes: list[Change]) -> None:
    """Create, change, start or check each machine's VM, recording it as soon as it exists."""
    client = _client(ctx, settings)
    known = recorded_facts(ctx.operator.id, "machine")
    for index, change in enumerate(changes):
        ctx.progress.advance(10 + int(14 * index / max(1, len(changes))))
        try:
            host = _ensure_vm(ctx, client, settings, change, known.get(change.name) or {})
        except ProxmoxError as exc:
            raise StepFailed(f"Proxmox: {exc.message}") from None
        except (ssh_hostkey.HostKeyError, AddressError) as exc:
            raise StepFailed(f"machine {change.name}: {exc}") from None
        ctx.hosts[change.name] = host


def _ensure_vm(
    ctx: DeployContext,
    client: Client,
    settings: ProxmoxSettings,
    change: Change,
    facts: dict[str, Any],
) -> Host:
    name, spec, slug = change.name, change.spec, ctx.slug

    def say(line: str) -> None:
        ctx.progress.log([line])

    size = MachineSize(int(spec["cores"]), int(spec["memory_mib"]), int(spec["disk_gib"]))
    infrastructure = {settings.cluster.gateway or "", *settings.cluster.nameservers}
    address = addresses.lease(ctx.operator.id, name, settings.addresses, avoid=infrastructure)
    vm = _find(client, slug, name, facts)
    if vm is None:
        ctx.progress.phase(f"VM {name}: cloning", ctx_progress(ctx))
        vm = provision.clone(client, settings.cluster, slug, name, say)
        say(f"VM {name}: clone {vm.vmid} exists on {vm.node}")
    else:
        say(f"VM {name}: found {vm.vmid} on {vm.node} ({vm.status})")
    facts = {"via": MachineBackend.PROXMOX, "vmid": vm.vmid, "node": vm.node, "address": address}
    ctx.record(change, facts, simulated=False)

    ctx.progress.phase(f"VM {name}: configuring", ctx_progress(ctx))
    restart = provision.configure(
        client,
        settings.cluster,
        vm,
        slug,
        name,
        size,
        settings.addresses.cidr(address),
        [ctx.state.ssh_public_key],
    )
    say(
        f"VM {name}: {size.cores} vCPU, {size.memory_mib} MiB, cloud-init user root, "
        f"address {address}" + (" (changed)" if restart else "")
    )
    ctx.progress.phase(f"VM {name}: resizing disk", ctx_progress(ctx))
    if provision.grow_disk(client, vm, size.disk_gib):
        say(f"VM {name}: disk grown to {size.disk_gib} GiB")
    else:
        say(f"VM {name}: disk already {size.disk_gib} GiB or larger")
    ctx.progress.phase(f"VM {name}: starting", ctx_progress(ctx))
    if provision.start(client, vm):
        say(f"VM {name}: started" + (" again with its disk" if _was_kept(change) else ""))
    elif restart:
        say(f"VM {name}: rebooting so that the new size applies")
        provision.reboot(client, vm)
    else:
        say(f"VM {name}: already running")
    ctx.progress.phase(f"VM {name}: waiting for SSH", ctx_progress(ctx))
    key = ssh_hostkey.host_key(address, settings.ssh_port, ctx.settings.vm_boot_timeout)
    say(f"VM {name}: SSH answers on {address}:{settings.ssh_port}; host key {key}")
    ctx.record(change, facts | {"host_key": key}, simulated=False)
    return Host(host=address, user="root", host_public_key=key)


def _was_kept(change: Change) -> bool:
    return bool(change.previous and change.previous.get(KEPT))


def ctx_progress(ctx: DeployContext) -> int:
    """Stay within the machines step's share of the progress bar."""
    return 10 + min(14, len(ctx.hosts) * 4)


def keep_proxmox(ctx: DeployContext, change: Change, settings: ProxmoxSettings) -> None:
    """Tag the kept machine's VM `kept` and shut it down; its disk and address stay."""
    client = _client(ctx, settings)
    facts = recorded_facts(ctx.operator.id, "machine").get(change.name) or {}
    name, service = change.name, change.service or change.name

    def say(line: str) -> None:
        ctx.progress.log([line])

    try:
        vm = _find(client, ctx.slug, name, facts)
        if vm is None:
            outcome = f"machine {name}: its VM no longer exists on Proxmox, nothing to keep"
            say(outcome)
            record_outcome(ctx.deployment.id, service, "keep", outcome)
            forget(ctx.operator.id, "machine", name)
            addresses.release(ctx.operator.id, name)
            return
        if provision.tag_kept(client, vm, ctx.slug, name):
            say(f"VM {name}: tagged {provision.KEPT_TAG}")
        ran = provision.shut_down(client, vm, ctx.settings.vm_shutdown_timeout, say)
    except ProxmoxError as exc:
        raise StepFailed(f"Proxmox: {exc.message}") from None
    say(f"VM {name} ({vm.vmid}): {'shut down' if ran else 'already shut down'}, kept with its disk")
    if ran or change.action != Action.KEEP:
        outcome = f"machine {name} shut down, disk and database kept"
        record_outcome(ctx.deployment.id, service, "keep", outcome)
    ctx.record(change, facts | {"vmid": vm.vmid, "node": vm.node}, simulated=False)


def remove_proxmox(ctx: DeployContext, change: Change, settings: ProxmoxSettings) -> None:
    """Stop and delete the machine's VM with its disks, then free its address."""
    client = _client(ctx, settings)
    facts = recorded_facts(ctx.operator.id, "machine").get(change.name) or {}

    def say(line: str) -> None:
        ctx.progress.log([line])

    try:
        vm = _find(client, ctx.slug, change.name, facts)
        if vm is None:
            say(f"VM {change.name} no longer exists")
        else:
            provision.delete_vm(client, vm, say)
    except ProxmoxError as exc:
        raise StepFailed(f"Proxmox: {exc.message}") from None
    if change.data == DataFate.DELETE:
        outcome = f"machine {change.name} deleted with its disk and database"
        record_outcome(ctx.deployment.id, change.service or change.name, "delete", outcome)
    address = addresses.leased(ctx.operator.id, change.name)
    addresses.release(ctx.operator.id, change.name)
    if address:
        say(f"address {address} is free again")


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
        elif _was_kept(change):
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
