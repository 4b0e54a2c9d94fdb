"""Clones of the template for operators' machines, never made twice for one machine."""

from __future__ import annotations

import threading
import time
from typing import Any

from fedipanel.providers.proxmox.client import Client, ProxmoxError
from fedipanel.providers.proxmox.provision import (
    Cluster,
    Say,
    Vm,
    description,
    vm_at,
    vm_name,
)


def roomiest_node(client: Client, nodes: tuple[str, ...]) -> str:
    """Return the configured online node with the most free memory."""
    candidates = [
        row
        for row in client.get("nodes")
        if row.get("status") == "online" and (not nodes or row.get("node") in nodes)
    ]
    if not candidates:
        raise ProxmoxError(f"none of the nodes {', '.join(nodes) or '(any)'} is online")
    best = max(candidates, key=lambda r: int(r.get("maxmem") or 0) - int(r.get("mem") or 0))
    return str(best["node"])


def template_node(client: Client, template: int) -> str:
    """Return the node that holds the template."""
    for row in client.get("cluster/resources", type="vm"):
        if int(row.get("vmid") or 0) == template:
            if not row.get("template"):
                raise ProxmoxError(f"VM {template} is not a template")
            return str(row["node"])
    raise ProxmoxError(f"template VM {template} does not exist")


# /cluster/nextid reserves nothing and the clone call takes the id at once (Proxmox writes the
# new VM's locked configuration before it answers): machines cloned from this process at the
# same time pick and take their ids one after the other, so they never race each other for one.
_PICKING = threading.Lock()


def clone(
    client: Client, cluster: Cluster, slug: str, machine: str, say: Say, max_collisions: int = 5
) -> Vm:
    """Make a full clone of the template on the roomiest node; retry when the id was taken."""
    source = template_node(client, cluster.template)
    target = roomiest_node(client, cluster.nodes)
    name = vm_name(slug, machine)
    for _ in range(max_collisions):
        with _PICKING:
            vmid = int(client.get("cluster/nextid"))
            say(f"VM {name}: cloning template {cluster.template} as {vmid} on {target}")
            asked = _clone_as(client, cluster, source, target, vmid, slug, machine, say)
        if asked is False:
            say(f"VM {name}: id {vmid} was taken meanwhile; asking for another")
            continue
        if asked is not True:
            say(f"VM {name}: waiting for the clone task")
            try:
                client.wait(source, asked, f"cloning VM {name}")
            except ProxmoxError as exc:
                if not (exc.ambiguous and _is_ours(client, target, vmid, slug, machine)):
                    raise
                say(f"VM {name}: {exc.message}, but the clone {vmid} exists: continuing")
        wait_unlocked(client, target, vmid, name, say)
        return Vm(vmid, target, name)
    raise ProxmoxError(f"could not find a free VM id for {name} after {max_collisions} tries")


def _clone_as(
    client: Client,
    cluster: Cluster,
    source: str,
    target: str,
    vmid: int,
    slug: str,
    machine: str,
    say: Say,
) -> Any:
    """Ask for a clone of the template as `vmid`; return its task, or whether the VM is ours.

    True: the clone exists already (a lost answer); False: another VM took that id. The id is
    the clone's idempotency key: after a failure that may have come after Proxmox cloned (no
    answer, a gateway's 5xx), the VM is looked for at that id, and only when it is not there
    is the same clone asked for again, so that a second one can never appear.
    """
    name = vm_name(slug, machine)
    delay = client.retry.backoff
    for attempt in range(1, client.retry.attempts + 1):
        try:
            upid = client.create(
                f"nodes/{source}/qemu/{cluster.template}/clone",
                newid=vmid,
                name=name,
                full=True,
                storage=cluster.storage,
                pool=cluster.pool,
                target=target if target != source else None,
                description=description(slug, machine),
            )
            return upid or True
        except ProxmoxError as exc:
            taken = "already exists" in exc.message
            if not (exc.ambiguous or taken):
                raise
            if _is_ours(client, target, vmid, slug, machine):
                if exc.ambiguous:
                    say(f"VM {name}: {exc.message}, but the clone {vmid} exists: continuing")
                return True
            if taken:
                return False
            if attempt == client.retry.attempts:
                raise
            say(f"VM {name}: {exc.message} and no clone {vmid} yet; asking again")
        client.pause(delay)
        delay = min(delay * 2, client.retry.max_backoff)
    raise AssertionError("unreachable")  # pragma: no cover


def _is_ours(client: Client, node: str, vmid: int, slug: str, machine: str) -> bool:
    """Tell whether the VM at this id is this machine's clone (by name and description)."""
    vm = vm_at(client, node, vmid)
    if vm is None or vm.name != vm_name(slug, machine):
        return False
    config = client.get(f"nodes/{node}/qemu/{vmid}/config")
    return bool(config.get("description") == description(slug, machine))


def wait_unlocked(client: Client, node: str, vmid: int, name: str, say: Say) -> None:
    """Wait until the clone lock is gone from the new VM."""
    deadline = time.monotonic() + client.retry.task_timeout
    while True:
        config = client.get(f"nodes/{node}/qemu/{vmid}/config")
        if not config.get("lock"):
            return
        if time.monotonic() > deadline:
            raise ProxmoxError(f"VM {name} is still locked ({config['lock']})")
        client.pause(client.retry.task_poll)
