"""DNS records: each service host's addresses and CAA, and the mail records, on the provider's
authoritative server through RFC 2136 updates.

Each record's facts keep the zone and exactly the values FediPanel wrote, recorded before the
update is sent: the next run changes or removes those values and nothing else, and every update
carries the records as they were read as its prerequisite, so another writer's change meanwhile
makes the server refuse rather than be overwritten.
"""

from __future__ import annotations

import ipaddress
import socket
from typing import Any

from fedipanel.core import dns_records
from fedipanel.core.planner import Action, Change
from fedipanel.core.text import N_
from fedipanel.deployments.systems import SystemKey
from fedipanel.providers.dns.client import DnsError, DnsServer, normalise
from fedipanel.providers.dns.settings import DnsSettings
from fedipanel.resources.records import recorded_facts
from jobs.runner import StepFailed
from jobs.steps.context import DeployContext

_AFTER_FAILURE = (
    " Nothing was deployed; the records written so far are recorded, and the next deployment "
    "continues from there."
)


def _dns(ctx: DeployContext) -> DnsSettings | None:
    if ctx.is_simulated(SystemKey.DNS):
        return None
    if ctx.settings.dns is None:
        problem = ctx.settings.problems.get("dns", "the DNS server is no longer configured")
        raise StepFailed(f"DNS: {problem}." + _AFTER_FAILURE)
    return ctx.settings.dns


def create(ctx: DeployContext) -> None:
    ctx.progress.phase(N_("Writing DNS records"), 35)
    dns = _dns(ctx)
    known = recorded_facts(ctx.operator.id, "dns_record")
    server = dns.server() if dns else None
    for change in ctx.changes("dns_record"):
        wanted = _wanted(ctx, change)
        if server is None or dns is None:
            _simulate(ctx, change, wanted)
            continue
        try:
            _ensure(ctx, server, dns, change, wanted, known.get(change.name) or {})
        except DnsError as exc:
            raise StepFailed(f"DNS: {exc}." + _AFTER_FAILURE) from None


def _addresses(ctx: DeployContext, machine: str | None) -> list[str]:
    """Return the IP addresses of a machine: its own, or those its host name resolves to."""
    if machine is None:
        return []
    host = ctx.hosts.get(machine)
    if host is None:
        raise StepFailed(f"DNS: no address is known for machine {machine}." + _AFTER_FAILURE)
    try:
        return [str(ipaddress.ip_address(host.host))]
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host.host, None, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise StepFailed(
            f"DNS: machine {machine} is reached as {host.host}, which does not resolve to an "
            f"address to publish: {exc}." + _AFTER_FAILURE
        ) from None
    return sorted({str(info[4][0]) for info in infos})


def _wanted(ctx: DeployContext, change: Change) -> dict[str, list[str]]:
    machine = change.spec.get("machine")
    addresses = _addresses(ctx, str(machine) if machine else None)
    if change.spec.get("type") == dns_records.ADDRESS and not addresses:
        raise StepFailed(f"DNS: machine {machine} has no address to publish." + _AFTER_FAILURE)
    return dns_records.values(change.spec, addresses)


def _simulate(ctx: DeployContext, change: Change, wanted: dict[str, list[str]]) -> None:
    host = str(change.spec.get("host", change.name))
    if change.action != Action.KEEP:
        for rtype, values in wanted.items():
            for value in values:
                ctx.simulate(f"{rtype} {host} {_shown(value)}")
    ctx.record(change, {"written": wanted}, simulated=True)


def _shown(value: str) -> str:
    # A DKIM key is 400 characters of base64: its start identifies it well enough in a log.
    return value if len(value) <= 80 else f"{value[:60]}...{value[-12:]}"


def _ensure(
    ctx: DeployContext,
    server: DnsServer,
    dns: DnsSettings,
    change: Change,
    wanted: dict[str, list[str]],
    facts: dict[str, Any],
) -> None:
    """Make the server hold exactly the wanted values of FediPanel's, and say what it holds."""
    host = str(change.spec.get("host", change.name))
    zone = dns_records.zone_of(host, dns.zones)
    if zone is None:
        raise StepFailed(f"DNS: {host} is in none of the zones {', '.join(dns.zones)}.")
    ttl = int(change.spec.get("ttl") or ctx.settings.dns_ttl)
    written = {k: list(v) for k, v in (facts.get("written") or {}).items()}
    if facts.get("zone") not in (None, zone):
        written = {}  # written by a simulator, or into a zone no longer configured
    lines = []
    for rtype, values in wanted.items():
        desired = normalise(rtype, values)
        ours = written.get(rtype, [])
        if not desired and not ours:
            continue
        current = server.read(host, rtype)
        found = current.values
        clash = dns_records.conflicts(rtype, desired + ours, found)
        if clash:
            raise StepFailed(
                f"DNS: {host} already has {rtype} {', '.join(map(repr, clash))}, which FediPanel "
                f"did not write and will not replace; remove it from zone {zone} or choose "
                "another host name." + _AFTER_FAILURE
            )
        remove = [v for v in ours if v not in desired and v in found]
        add = [v for v in desired if v not in found or current.ttl != ttl]
        if remove or add:
            # Recorded first: a run that stops after the update still knows what it wrote.
            written[rtype] = sorted(set(ours) | set(desired))
            ctx.record(change, {"zone": zone, "written": written}, simulated=False)
            server.change(zone, current, ttl, remove=remove, add=add)
        after = server.read(host, rtype).values
        missing = [v for v in desired if v not in after]
        if missing:
            raise StepFailed(
                f"DNS: the server accepted {rtype} {host} but does not answer "
                f"{', '.join(map(repr, missing))} when asked: see its log." + _AFTER_FAILURE
            )
        written[rtype] = desired
        how = "written" if add or remove else "unchanged"
        lines += [f"{rtype} {host} {_shown(v)} ({how}, read back)" for v in desired]
        lines += [f"{rtype} {host} {_shown(v)} removed" for v in remove]
    ctx.record(change, {"zone": zone, "written": written}, simulated=False)
    ctx.progress.log(lines)


def remove(ctx: DeployContext, change: Change) -> None:
    """Delete exactly the values FediPanel wrote for this record; other records stay."""
    facts = recorded_facts(ctx.operator.id, "dns_record").get(change.name) or {}
    host = str(change.spec.get("host", change.name))
    written: dict[str, list[str]] = facts.get("written") or {}
    zone = facts.get("zone")
    if not zone:
        if ctx.is_simulated(SystemKey.DNS):
            ctx.simulate(f"delete DNS record {change.name}")
        else:
            ctx.progress.log([f"DNS record {change.name} was only simulated: nothing to delete"])
        return
    dns = ctx.settings.dns
    if dns is None:
        raise StepFailed(
            f"DNS: cannot delete {host}: the DNS server is no longer configured; configure it "
            "again and run this once more."
        )
    server = dns.server()
    try:
        for rtype, values in written.items():
            if not values:
                continue
            server.delete(str(zone), host, rtype, values)
            left = [v for v in server.read(host, rtype).values if v in values]
            if left:
                raise StepFailed(f"DNS: {rtype} {host} is still answered after its deletion.")
            ctx.progress.log([f"{rtype} {host} {_shown(v)} deleted" for v in values])
    except DnsError as exc:
        raise StepFailed(f"DNS: {exc}.") from None
