"""VMs for operators' machines: clone, configure, resize, start, keep shut down, find, delete."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote

from fedipanel.core.resources import MachineSize
from fedipanel.providers.proxmox.client import Client, ProxmoxError

TAG = "fedipanel"
# The tag of a VM kept, shut down with its disk, for a service its operator disabled.
KEPT_TAG = "kept"
# Where the template's system disk is; the template must boot from it.
DISK = "scsi0"
_SIZE = re.compile(r"(?:^|,)size=(\d+(?:\.\d+)?)([KMGT]?)(?:,|$)")
_UNITS = {"": 1 / 1024**3, "K": 1 / 1024**2, "M": 1 / 1024, "G": 1, "T": 1024}


@dataclass(frozen=True)
class Cluster:
    """The provider's Proxmox choices that every VM shares."""

    nodes: tuple[str, ...]
    template: int
    storage: str | None = None
    pool: str | None = None
    gateway: str | None = None
    nameservers: tuple[str, ...] = ()
    user: str = "root"


@dataclass(frozen=True)
class Vm:
    """One VM as Proxmox knows it."""

    vmid: int
    node: str
    name: str
    status: str = "stopped"
    lock: str | None = None


def vm_name(slug: str, machine: str) -> str:
    """Return the VM's name: `<operator slug>-<machine>`."""
    return f"{slug}-{machine}"


def vm_tags(slug: str, machine: str, *, kept: bool = False) -> list[str]:
    """Return the tags that mark a VM as FediPanel's, the operator's and the machine's."""
    return [TAG, f"op-{slug}", f"m-{machine}"] + ([KEPT_TAG] if kept else [])


def encode_sshkeys(keys: list[str]) -> str:
    """Encode keys as Proxmox wants `sshkeys`: one per line, percent-encoded by the client."""
    return quote("\n".join(k.strip() for k in keys), safe="")


def disk_gib(config: dict[str, Any], disk: str = DISK) -> float | None:
    """Return the size of a disk in a VM configuration, in GiB."""
    found = _SIZE.search(str(config.get(disk) or ""))
    if found is None:
        return None
    return float(found.group(1)) * _UNITS[found.group(2)]


Say = Callable[[str], None]


def description(slug: str, machine: str) -> str:
    """Return the description a clone gets: it marks the VM as ours before it has tags."""
    return f"FediPanel: machine {machine} of operator {slug}"


def vms_of(client: Client, slug: str) -> list[Vm]:
    """Return every VM tagged as FediPanel's for this operator, wherever it runs."""
    wanted = {TAG, f"op-{slug}"}
    found = []
    for row in client.get("cluster/resources", type="vm"):
        tags = set(str(row.get("tags") or "").replace(",", ";").split(";")) - {""}
        if row.get("type") == "qemu" and not row.get("template") and wanted <= tags:
            found.append(
                Vm(int(row["vmid"]), str(row["node"]), row["name"], row.get("status", "stopped"))
            )
    return found


def find_vm(client: Client, slug: str, machine: str) -> Vm | None:
    """Find the machine's VM by its name and tags, wherever it runs.

    A clone whose configuration never happened (the worker died) has no tags yet: it is
    recognised by its name and the description the clone gave it.
    """
    wanted = set(vm_tags(slug, machine))
    for row in client.get("cluster/resources", type="vm"):
        if row.get("type") != "qemu" or row.get("template"):
            continue
        if row.get("name") != vm_name(slug, machine):
            continue
        vm = Vm(int(row["vmid"]), str(row["node"]), row["name"], row.get("status", "stopped"))
        tags = set(str(row.get("tags") or "").replace(",", ";").split(";")) - {""}
        if wanted <= tags:
            return vm
        if not tags:
            config = client.get(f"nodes/{vm.node}/qemu/{vm.vmid}/config")
            if config.get("description") == description(slug, machine):
                return vm
    return None


def vm_at(client: Client, node: str, vmid: int) -> Vm | None:
    """Return the VM with this id on this node, or None when it is gone."""
    try:
        status = client.get(f"nodes/{node}/qemu/{vmid}/status/current")
    except ProxmoxError as exc:
        if exc.status in {404, 500} and "does not exist" in exc.message:
            return None
        raise
    return Vm(vmid, node, str(status.get("name") or ""), status.get("status"), status.get("lock"))


def configure(
    client: Client,
    cluster: Cluster,
    vm: Vm,
    slug: str,
    machine: str,
    size: MachineSize,
    address_cidr: str,
    ssh_keys: list[str],
) -> bool:
    """Set cores, memory, cloud-init and tags; return whether a running VM must restart."""
    current = client.get(f"nodes/{vm.node}/qemu/{vm.vmid}/config")
    wanted: dict[str, Any] = {
        "cores": size.cores,
        "memory": str(size.memory_mib),
        "ciuser": cluster.user,
        "sshkeys": encode_sshkeys(ssh_keys),
        "ipconfig0": f"ip={address_cidr}" + (f",gw={cluster.gateway}" if cluster.gateway else ""),
        "nameserver": " ".join(cluster.nameservers) or None,
        "tags": ";".join(vm_tags(slug, machine)),
        "name": vm_name(slug, machine),
        "onboot": True,
    }
    changes = {
        key: value
        for key, value in wanted.items()
        if value is not None and _differs(key, current.get(key), value)
    }
    if not changes:
        return False
    client.run(
        vm.node,
        f"configuring VM {vm.name}",
        lambda: client.post(f"nodes/{vm.node}/qemu/{vm.vmid}/config", **changes),
    )
    return bool({"cores", "memory"} & set(changes))


def _differs(key: str, current: Any, wanted: Any) -> bool:
    if key == "sshkeys":  # the server may encode differently what it decoded
        return unquote(str(current or "")).strip() != unquote(str(wanted)).strip()
    if isinstance(wanted, bool):
        return str(current) != ("1" if wanted else "0")
    if isinstance(wanted, int):
        return str(current) != str(wanted)
    if isinstance(current, str) and ";" in str(wanted):
        return set(current.replace(",", ";").split(";")) != set(str(wanted).split(";"))
    return str(current if current is not None else "") != str(wanted)


def grow_disk(client: Client, vm: Vm, size_gib: int) -> bool:
    """Grow the system disk to `size_gib`; never shrink it. Return whether it grew."""
    current = disk_gib(client.get(f"nodes/{vm.node}/qemu/{vm.vmid}/config"))
    if current is not None and current >= size_gib:
        return False
    client.run(
        vm.node,
        f"growing the disk of VM {vm.name}",
        lambda: client.put(
            f"nodes/{vm.node}/qemu/{vm.vmid}/resize", disk=DISK, size=f"{size_gib}G"
        ),
        done=lambda: (
            (disk_gib(client.get(f"nodes/{vm.node}/qemu/{vm.vmid}/config")) or 0) >= size_gib
        ),
    )
    return True


def start(client: Client, vm: Vm) -> bool:
    """Start the VM unless it runs; return whether it was started."""
    status = client.get(f"nodes/{vm.node}/qemu/{vm.vmid}/status/current")
    if status.get("status") == "running":
        return False
    client.run(
        vm.node,
        f"starting VM {vm.name}",
        lambda: client.post(f"nodes/{vm.node}/qemu/{vm.vmid}/status/start"),
        done=lambda: _status(client, vm) == "running",
    )
    return True


def reboot(client: Client, vm: Vm) -> None:
    """Reboot a running VM so that new cores and memory apply."""
    client.run(
        vm.node,
        f"rebooting VM {vm.name}",
        lambda: client.post(f"nodes/{vm.node}/qemu/{vm.vmid}/status/reboot"),
    )


def shut_down(client: Client, vm: Vm, timeout: int, say: Say) -> bool:
    """Shut the VM down cleanly; stop it if it is not down after `timeout` seconds.

    Return whether it was running. The guest gets the ACPI power button, as on a real machine,
    so its databases close their files; only a guest that ignores it is stopped hard.
    """
    current = vm_at(client, vm.node, vm.vmid)
    if current is None:
        raise ProxmoxError(f"VM {vm.name} ({vm.vmid}) does not exist")
    if current.status != "running":
        return False
    say(f"VM {vm.name}: shutting down (waiting up to {timeout}s)")
    try:
        # Not client.run: a shutdown that timed out must not be tried again but followed by stop.
        upid = client.post(f"nodes/{vm.node}/qemu/{vm.vmid}/status/shutdown", timeout=timeout)
        client.wait(vm.node, upid, f"shutting down VM {vm.name}")
    except ProxmoxError as exc:
        still = vm_at(client, vm.node, vm.vmid)
        if still is None or still.status == "running":
            say(f"VM {vm.name}: no clean shutdown ({exc.message}); stopping it")
            client.run(
                vm.node,
                f"stopping VM {vm.name}",
                lambda: client.post(f"nodes/{vm.node}/qemu/{vm.vmid}/status/stop"),
            )
    return True


def tag_kept(client: Client, vm: Vm, slug: str, machine: str) -> bool:
    """Add the `kept` tag (configure() takes it away again); return whether it was missing."""
    current = client.get(f"nodes/{vm.node}/qemu/{vm.vmid}/config")
    wanted = ";".join(vm_tags(slug, machine, kept=True))
    if not _differs("tags", current.get("tags"), wanted):
        return False
    client.run(
        vm.node,
        f"tagging VM {vm.name}",
        lambda: client.post(f"nodes/{vm.node}/qemu/{vm.vmid}/config", tags=wanted),
    )
    return True


def delete_vm(client: Client, vm: Vm, say: Say) -> None:
    """Stop the VM and destroy it with its disks, leaving no trace in backups or pools."""
    current = vm_at(client, vm.node, vm.vmid)
    if current is None:
        say(f"VM {vm.name} ({vm.vmid}) is already gone")
        return
    if current.status == "running":
        say(f"VM {vm.name}: stopping")
        client.run(
            vm.node,
            f"stopping VM {vm.name}",
            lambda: client.post(f"nodes/{vm.node}/qemu/{vm.vmid}/status/stop"),
            done=lambda: _status(client, vm) in (None, "stopped"),
        )
    say(f"VM {vm.name}: deleting ({vm.vmid}, with its disks)")
    client.run(
        vm.node,
        f"deleting VM {vm.name}",
        lambda: client.delete(
            f"nodes/{vm.node}/qemu/{vm.vmid}", purge=True, **{"destroy-unreferenced-disks": True}
        ),
        done=lambda: vm_at(client, vm.node, vm.vmid) is None,
    )


def _status(client: Client, vm: Vm) -> str | None:
    """Return the VM's power state, or None when it is gone."""
    current = vm_at(client, vm.node, vm.vmid)
    return None if current is None else current.status
