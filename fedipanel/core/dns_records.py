"""The DNS records of an operator's deployment: what they are and which zone holds each one.

Addresses are only known once the machines exist, so an address record names its machine and
an SPF value holds `{addresses}`: the deploy step fills both in (`values`).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from fedipanel.core.resources import DkimRecord, MailRecordPolicy, Resource

DMARC_POLICIES = ("none", "quarantine", "reject")
CAA_VALUE = '0 issue "letsencrypt.org"'
ADDRESS = "A/AAAA"
ADDRESSES = "{addresses}"
# Shown for the DKIM key before the deployment that generates it.
DKIM_PENDING = "generated at deployment"
# Another writer's TXT record with one of these prefixes would make two SPF, DKIM or DMARC
# records, which receivers treat as none at all.
TXT_KINDS = ("v=spf1", "v=DKIM1", "v=DMARC1")


@dataclass(frozen=True)
class MailRecords:
    """What the mail records need to know besides the services' host names."""

    admin_email: str
    relay_host: str
    # The provider's own sending domain: it publishes SPF and DMARC there itself.
    from_domain: str | None
    dkim: DkimRecord | None
    policy: MailRecordPolicy


def _record(name: str, rtype: str, ttl: int, **spec: Any) -> Resource:
    key = name if rtype == ADDRESS else f"{name} {spec.get('purpose') or rtype}"
    return Resource("dns_record", key, {"type": rtype, "host": name, "ttl": ttl, **spec})


def dns_records(hosts: Mapping[str, str], ttl: int, mail: MailRecords | None) -> list[Resource]:
    """Return the records of each machine's host name ({machine: fqdn}) and of its mail."""
    records: list[Resource] = []
    for machine, fqdn in hosts.items():
        records.append(_record(fqdn, ADDRESS, ttl, machine=machine))
        records.append(_record(fqdn, "CAA", ttl, machine=machine, value=CAA_VALUE))
    if mail is None:
        return records
    dkim = mail.dkim
    if dkim is not None:
        value = dkim.value or DKIM_PENDING
        records.append(_record(dkim.name, "TXT", ttl, purpose="DKIM", value=value))
    if mail.from_domain:
        return records
    policy = mail.policy
    relay = f"include:{policy.spf_include}" if policy.spf_include else f"a:{mail.relay_host}"
    for machine, fqdn in hosts.items():
        spf = f"v=spf1 {ADDRESSES} {relay} -all"
        records.append(_record(fqdn, "TXT", ttl, purpose="SPF", machine=machine, value=spf))
        dmarc = f"v=DMARC1; p={policy.dmarc_policy}; rua=mailto:{mail.admin_email}"
        records.append(_record(f"_dmarc.{fqdn}", "TXT", ttl, purpose="DMARC", value=dmarc))
    return records


def values(spec: Mapping[str, Any], addresses: Sequence[str]) -> dict[str, list[str]]:
    """Return {record type: values} a record's spec stands for, given its machine's addresses."""
    rtype = str(spec.get("type"))
    parsed = [ipaddress.ip_address(a) for a in addresses]
    if rtype == ADDRESS:
        return {
            "A": sorted(str(a) for a in parsed if a.version == 4),
            "AAAA": sorted(str(a) for a in parsed if a.version == 6),
        }
    value = str(spec.get("value", ""))
    if ADDRESSES in value:
        terms = [f"ip{a.version}:{a}" for a in sorted(parsed, key=lambda a: (a.version, a))]
        value = value.replace(ADDRESSES, " ".join(terms)).replace("  ", " ")
    return {rtype: [value]}


def conflicts(rtype: str, ours: Iterable[str], found: Iterable[str]) -> list[str]:
    """Return the records of another writer that ours cannot stand beside."""
    foreign = [v for v in found if v not in set(ours)]
    if rtype in ("A", "AAAA"):
        return foreign
    if rtype == "TXT":
        mine = {k for k in TXT_KINDS for v in ours if v.startswith(k)}
        return [v for v in foreign if any(v.startswith(k) for k in mine)]
    return []


def zone_of(name: str, zones: Iterable[str]) -> str | None:
    """Return the most specific zone that holds `name`, or None."""
    name = name.lower().rstrip(".")
    holding = [z for z in zones if name == z or name.endswith(f".{z}")]
    return max(holding, key=len, default=None)


def refusal(domain: str, names: Iterable[str], zones: Sequence[str], server: str) -> str | None:
    """Say what to do when some record names are in no zone the provider's server serves."""
    outside = sorted({n for n in names if zone_of(n, zones) is None})
    if not outside:
        return None
    served = ", ".join(zones)
    return (
        f"The domain {domain} is in no zone the provider's DNS server serves ({served}), so its "
        f"records ({', '.join(outside)}) cannot be published. Either delegate {domain} to that "
        f"server, by setting these records at the registrar or in the parent zone: "
        f'"{domain}. NS {_name_server(server)}", and ask the provider to add {domain} to its DNS '
        f"zones (FEDIPANEL_DNS_ZONES); or use a domain under one of the served zones, such as "
        f"yourname.{zones[0]}."
    )


def _name_server(server: str) -> str:
    try:
        ipaddress.ip_address(server)
    except ValueError:
        return server.rstrip(".") + "."
    return f"<the name server at {server}>."
