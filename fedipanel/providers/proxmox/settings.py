"""Proxmox's settings section: its fields, their check, the connection test, typed values."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

from fedipanel.core.sections import Section, SettingField, Values
from fedipanel.core.text import N_
from fedipanel.core.validators import PROXMOX_NODE, PROXMOX_STORAGE, check_url, is_digits, problem
from fedipanel.providers.proxmox.addresses import AddressError, AddressRange, parse_range
from fedipanel.providers.proxmox.client import (
    Client,
    Connection,
    ProxmoxError,
    Retry,
    parse_verify,
)
from fedipanel.providers.proxmox.provision import Cluster

FIELDS = (
    SettingField(
        "PROXMOX_URL", N_("API URL"), N_("The cluster's API"), placeholder="https://pve1:8006"
    ),
    SettingField(
        "PROXMOX_TOKEN_ID",
        N_("API token ID"),
        N_("See the README for the privileges it needs"),
        placeholder="fedipanel@pve!panel",
    ),
    SettingField(
        "PROXMOX_TOKEN_SECRET", N_("API token secret"), N_("The token's UUID"), secret=True
    ),
    SettingField(
        "PROXMOX_VERIFY",
        N_("Verify TLS"),
        N_("true, false, or the path of a CA bundle on the panel's machine"),
        placeholder="true",
    ),
    SettingField(
        "PROXMOX_NODES",
        N_("Nodes"),
        N_("Comma-separated; empty: every node"),
        placeholder="pve1,pve2",
    ),
    SettingField(
        "PROXMOX_TEMPLATE",
        N_("Template VMID"),
        N_("A NixOS cloud-init template"),
        placeholder="9000",
    ),
    SettingField(
        "PROXMOX_STORAGE", N_("Storage"), N_("Where VM disks go (shared)"), placeholder="linstor"
    ),
    SettingField(
        "PROXMOX_POOL", N_("Pool"), N_("Resource pool for the VMs"), placeholder="fedipanel"
    ),
    SettingField(
        "VM_ADDRESSES",
        N_("Address range"),
        N_("Static addresses for VMs, with prefix"),
        placeholder="192.0.2.10-192.0.2.99/24",
    ),
    SettingField("VM_GATEWAY", N_("Gateway"), placeholder="192.0.2.1"),
    SettingField(
        "VM_NAMESERVERS",
        N_("Name servers"),
        N_("Comma- or space-separated"),
        placeholder="192.0.2.53",
    ),
    SettingField("VM_SSH_PORT", N_("SSH port"), N_("Where new VMs answer SSH"), placeholder="22"),
)
KEYS = tuple(f.key for f in FIELDS)
_NODE = re.compile(PROXMOX_NODE)
_STORAGE = re.compile(PROXMOX_STORAGE)


@dataclass(frozen=True)
class ProxmoxSettings:
    """Everything a deployment needs to create VMs on the provider's cluster."""

    connection: Connection
    cluster: Cluster
    addresses: AddressRange
    ssh_port: int = 22


def _split(value: str | None) -> tuple[str, ...]:
    return tuple(part for part in re.split(r"[\s,]+", value or "") if part)


def validate(values: Values) -> dict[str, str]:
    """Return {key: message} for each Proxmox value that cannot work."""
    problems: dict[str, str] = {}
    url = values.get("PROXMOX_URL")
    if url and problem(lambda u: check_url(u, schemes=("https",)), url):
        problems["PROXMOX_URL"] = N_("must look like https://host:8006 (no credentials)")
    token_id = values.get("PROXMOX_TOKEN_ID")
    if token_id and not re.fullmatch(
        r"[^\s:/@!]+@[A-Za-z][A-Za-z0-9.\-_]+![A-Za-z][\w.\-]*", token_id
    ):
        problems["PROXMOX_TOKEN_ID"] = N_("must look like user@realm!tokenid")
    verify = parse_verify(values.get("PROXMOX_VERIFY"))
    if isinstance(verify, str) and not verify.startswith("/"):
        problems["PROXMOX_VERIFY"] = N_("must be true, false, or the absolute path of a CA bundle")
    bad_nodes = [n for n in _split(values.get("PROXMOX_NODES")) if not _NODE.fullmatch(n)]
    if bad_nodes:
        problems["PROXMOX_NODES"] = f"not a node name: {', '.join(bad_nodes)}"
    template = values.get("PROXMOX_TEMPLATE")
    if template and not (is_digits(template) and 100 <= int(template) <= 999999999):
        problems["PROXMOX_TEMPLATE"] = N_("must be a VMID (a number from 100 to 999999999)")
    storage = values.get("PROXMOX_STORAGE")
    if storage and not _STORAGE.fullmatch(storage):
        problems["PROXMOX_STORAGE"] = N_("not a storage ID")
    if values.get("VM_ADDRESSES"):
        try:
            parse_range(values["VM_ADDRESSES"])
        except AddressError as exc:
            problems["VM_ADDRESSES"] = str(exc)
    for key in ("VM_GATEWAY", "VM_NAMESERVERS"):
        for part in _split(values.get(key)):
            try:
                ipaddress.ip_address(part)
            except ValueError:
                problems[key] = f"{part} is not an IP address"
    port = values.get("VM_SSH_PORT")
    if port and not (is_digits(port) and 0 < int(port) < 65536):
        problems["VM_SSH_PORT"] = N_("must be a port number between 1 and 65535")
    if url:
        for key in ("PROXMOX_TOKEN_ID", "PROXMOX_TEMPLATE", "VM_ADDRESSES"):
            if not values.get(key):
                problems.setdefault(key, N_("needed when Proxmox is configured"))
    return problems


def is_configured(values: Values) -> bool:
    """Tell whether the provider has pointed FediPanel at a Proxmox cluster."""
    return bool(values.get("PROXMOX_URL"))


def load(values: Values) -> ProxmoxSettings:
    """Turn the effective settings into ProxmoxSettings; raise ValueError saying what is wrong."""
    problems = validate(values)
    if not values.get("PROXMOX_TOKEN_SECRET"):
        problems["PROXMOX_TOKEN_SECRET"] = N_("needed when Proxmox is configured")
    if problems:
        raise ValueError(
            "Proxmox settings: "
            + "; ".join(f"FEDIPANEL_{key} {message}" for key, message in problems.items())
        )
    return ProxmoxSettings(
        connection=Connection(
            url=str(values["PROXMOX_URL"]),
            token_id=str(values["PROXMOX_TOKEN_ID"]),
            token_secret=str(values["PROXMOX_TOKEN_SECRET"]),
            verify=parse_verify(values.get("PROXMOX_VERIFY")),
        ),
        cluster=Cluster(
            nodes=_split(values.get("PROXMOX_NODES")),
            template=int(str(values["PROXMOX_TEMPLATE"])),
            storage=values.get("PROXMOX_STORAGE") or None,
            pool=values.get("PROXMOX_POOL") or None,
            gateway=values.get("VM_GATEWAY") or None,
            nameservers=_split(values.get("VM_NAMESERVERS")),
        ),
        addresses=parse_range(values.get("VM_ADDRESSES")),
        ssh_port=int(values.get("VM_SSH_PORT") or 22),
    )


def test_connection(values: Values) -> list[str]:
    """Check token, nodes, template, storage and pool; answer what is wrong in plain words."""
    if not is_configured(values):
        return ["Proxmox is not configured: enter the API URL, token and template first."]
    try:
        settings = load(values)
        client = Client(settings.connection, Retry(attempts=1, task_poll=0.1))
        client.get("version")
    except (ValueError, ProxmoxError) as exc:
        return [_plain(exc)]
    problems: list[str] = []
    try:
        online = {row["node"]: row.get("status") for row in client.get("nodes")}
        nodes = settings.cluster.nodes or tuple(online)
        for node in nodes:
            if node not in online:
                problems.append(f"Unknown node {node!r}: the cluster has {', '.join(online)}.")
            elif online[node] != "online":
                problems.append(f"Node {node!r} is {online[node]}.")
        vms = {int(r["vmid"]): r for r in client.get("cluster/resources", type="vm")}
        template = vms.get(settings.cluster.template)
        if template is None:
            problems.append(f"Unknown template: VM {settings.cluster.template} does not exist.")
        elif not template.get("template"):
            problems.append(f"VM {settings.cluster.template} is not a template.")
        if settings.cluster.storage:
            for node in (n for n in nodes if n in online):
                try:
                    client.get(f"nodes/{node}/storage/{settings.cluster.storage}/status")
                except ProxmoxError as exc:
                    problems.append(
                        f"Unknown storage {settings.cluster.storage!r} on node {node}: "
                        f"{exc.message}"
                    )
        if settings.cluster.pool:
            try:
                client.get(f"pools/{settings.cluster.pool}")
            except ProxmoxError as exc:
                problems.append(f"Unknown pool {settings.cluster.pool!r}: {exc.message}")
    except ProxmoxError as exc:
        problems.append(_plain(exc))
    return problems


def _plain(exc: Exception) -> str:
    text = str(exc)
    if isinstance(exc, ProxmoxError) and exc.status == 401:
        return f"Bad token: {text}. Check the token ID and secret."
    return text[:1].upper() + text[1:]


SECTION = Section(
    name="proxmox",
    title=N_("Proxmox"),
    description=(
        N_(
            "The cluster operators' VMs are cloned on. Without it, machines come from the pool "
            "of pre-deployed VMs (Provider → VM pool), or are simulated. Each operator keeps the "
            "template, storage, pool and nodes of their first deployment: a change here reaches "
            'existing operators only through a rollout (kind "New Proxmox parameters"); new '
            "operators get it at once."
        )
    ),
    fields=FIELDS,
    validate=validate,
    test=test_connection,
)
