"""VMs on Proxmox: clone, configure and start them, keep them shut down, delete them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fedipanel.core.document import Host
from fedipanel.core.planner import Action, Change, DataFate
from fedipanel.core.resources import MachineSize
from fedipanel.deployments.systems import MachineBackend
from fedipanel.machines import addresses
from fedipanel.providers import ssh_hostkey
from fedipanel.providers.proxmox import cloning, provision
from fedipanel.providers.proxmox.addresses import AddressError
from fedipanel.providers.proxmox.client import Client, ProxmoxError
from fedipanel.providers.proxmox.settings import ProxmoxSettings
from fedipanel.resources.records import forget, recorded_facts
from fedipanel.storage.records import record_outcome
from jobs.runner import StepFailed
from jobs.steps import parallel
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
    """Bring up every machine's VM at once (FEDIPANEL_PARALLEL_MACHINES at most), recording each
    VM as soon as it exists; after a failure no further clone starts."""
    _client(ctx, settings)  # a bad URL or token ID fails here, before any thread starts
    known = recorded_facts(ctx.operator.id, "machine")
    owner = Owner(ctx.operator.id, ctx.slug)
    # Addresses are leased here, in plan order, so that each machine gets the same one however
    # the threads happen to run.
    infrastructure = {settings.cluster.gateway or "", *settings.cluster.nameservers}
    leased = {}
    for change in changes:
        try:
            leased[change.name] = addresses.lease(
                owner.operator_id, change.name, settings.addresses, avoid=infrastructure
            )
        except AddressError as exc:
            raise StepFailed(f"machine {change.name}: {exc}") from None
    finished: list[str] = []

    def work(lane: parallel.Lane, change: Change) -> Host:
        client = _client(ctx, settings)  # its own HTTP session: one per thread
        facts, address = known.get(change.name) or {}, leased[change.name]
        try:
            return _ensure_vm(ctx, owner, lane, client, settings, change, facts, address)
        except ProxmoxError as exc:
            raise StepFailed(f"Proxmox: {exc.message}") from None
        except ssh_hostkey.HostKeyError as exc:
            lane.check()  # the wait for SSH was cut short because another machine failed
            raise StepFailed(f"machine {change.name}: {exc}") from None

    def done(outcome: parallel.Outcome[Host]) -> None:
        finished.append(outcome.name)
        ctx.progress.advance(10 + int(14 * len(finished) / max(1, len(changes))))

    outcomes = parallel.run_each(
        ctx,
        [(change.name, change) for change in changes],
        work,
        prefix=lambda name: f"VM {name}: ",
        aliases=lambda name: (f"VM {provision.vm_name(owner.slug, name)}: ",),
        on_done=done,
    )
    for outcome in outcomes:
        if outcome.result is not None:
            ctx.hosts[outcome.name] = outcome.result
    failure = parallel.first_failure(outcomes)
    if failure is not None:
        raise failure


@dataclass(frozen=True)
class Owner:
    """Whose VMs these are, read once in the job's thread."""

    operator_id: int
    slug: str


def _ensure_vm(
    ctx: DeployContext,
    owner: Owner,
    lane: parallel.Lane,
    client: Client,
    settings: ProxmoxSettings,
    change: Change,
    facts: dict[str, Any],
    address: str,
) -> Host:
    """Clone, configure, resize, start and wait for one VM (in its own thread)."""
    name, spec, slug = change.name, change.spec, owner.slug
    say = lane.say
    size = MachineSize(int(spec["cores"]), int(spec["memory_mib"]), int(spec["disk_gib"]))
    vm = _find(client, slug, name, facts)
    if vm is None:
        lane.stage("cloning")
        vm = cloning.clone(client, settings.cluster, slug, name, say)
        say(f"VM {name}: clone {vm.vmid} exists on {vm.node}")
    else:
        say(f"VM {name}: found {vm.vmid} on {vm.node} ({vm.status})")
    facts = {"via": MachineBackend.PROXMOX, "vmid": vm.vmid, "node": vm.node, "address": address}
    lane.call(ctx.record, change, facts, simulated=False)

    lane.stage("configuring")
    restart = provision.configure(
        client,
        settings.cluster,
        vm,
        slug,
        name,
        size,
        settings.addresses.cidr(address),
        ctx.state.ssh_public_keys(),
    )
    say(
        f"VM {name}: {size.cores} vCPU, {size.memory_mib} MiB, cloud-init user root, "
        f"address {address}" + (" (changed)" if restart else "")
    )
    lane.stage("resizing disk")
    if provision.grow_disk(client, vm, size.disk_gib):
        say(f"VM {name}: disk grown to {size.disk_gib} GiB")
    else:
        say(f"VM {name}: disk already {size.disk_gib} GiB or larger")
    lane.stage("starting")
    if provision.start(client, vm):
        say(f"VM {name}: started" + (" again with its disk" if change.starts_kept_machine else ""))
    elif restart:
        say(f"VM {name}: rebooting so that the new size applies")
        provision.reboot(client, vm)
    else:
        say(f"VM {name}: already running")
    lane.stage("waiting for SSH")
    key = ssh_hostkey.host_key(
        address, settings.ssh_port, ctx.settings.vm_boot_timeout, stop=lane.stopping
    )
    say(f"VM {name}: SSH answers on {address}:{settings.ssh_port}; host key {key}")
    lane.call(ctx.record, change, facts | {"host_key": key}, simulated=False)
    return Host(host=address, user="root", host_public_key=key)


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
