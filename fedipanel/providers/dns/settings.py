"""The DNS server's settings section: its fields, their check, the connection test, typed values."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from fedipanel.core.dns_records import DMARC_POLICIES
from fedipanel.core.resources import MailRecordPolicy
from fedipanel.core.sections import Section, SettingField, Values
from fedipanel.core.text import N_
from fedipanel.core.validators import check_domain, check_host, check_port, problem
from fedipanel.providers.dns.client import (
    ALGORITHMS,
    DEFAULT_ALGORITHM,
    Connection,
    DnsError,
    DnsServer,
    check_secret,
)

PROBE_LABEL = "_fedipanel-probe"
PROBE_TEXT = "FediPanel connection test; removed right away"
_LABEL = re.compile(r"^[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?$")

FIELDS = (
    SettingField(
        "DNS_SERVER",
        N_("DNS server"),
        N_("The authoritative server that accepts RFC 2136 updates (host name or address)"),
        placeholder="ns1.provider.example",
    ),
    SettingField(
        "DNS_PORT", N_("Port"), N_("53 unless the server listens elsewhere"), placeholder="53"
    ),
    SettingField(
        "DNS_TSIG_NAME",
        N_("TSIG key name"),
        N_("The key allowed to update the zones (tsig-keygen NAME)"),
        placeholder="fedipanel",
    ),
    SettingField(
        "DNS_TSIG_ALGORITHM",
        N_("TSIG algorithm"),
        "One of " + ", ".join(ALGORITHMS),
        placeholder=DEFAULT_ALGORITHM,
    ),
    SettingField(
        "DNS_TSIG_SECRET",
        N_("TSIG secret"),
        N_("The key's secret in base64; stored encrypted, never shown again"),
        secret=True,
    ),
    SettingField(
        "DNS_ZONES",
        N_("Zones"),
        N_(
            "The zones the server serves, separated by commas: operators' own domains delegated to "
            "it, or a zone of yours under which operators get subdomains"
        ),
        placeholder="provider.example, acme.example",
    ),
    SettingField(
        "SPF_INCLUDE",
        N_("SPF include"),
        N_(
            "The relay's SPF domain, published as include: in each sending domain's SPF record "
            "(empty: a: with the relay's host name)"
        ),
        placeholder="_spf.provider.example",
    ),
    SettingField(
        "DMARC_POLICY",
        N_("DMARC policy"),
        "p= of each sending domain's DMARC record: " + ", ".join(DMARC_POLICIES),
        placeholder="quarantine",
    ),
)
_SERVER_KEYS = ("DNS_SERVER", "DNS_TSIG_NAME", "DNS_TSIG_SECRET", "DNS_ZONES")


@dataclass(frozen=True)
class DnsSettings:
    """The provider's DNS server; only built when the provider configured it."""

    connection: Connection = field(repr=False)
    zones: tuple[str, ...]

    def server(self) -> DnsServer:
        return DnsServer(self.connection)

    def __repr__(self) -> str:
        c = self.connection
        return f"DnsSettings({c.server!r}, port={c.port}, key={c.key_name!r}, secret=***)"


def check_name(value: str, *, labels: int = 1) -> str:
    """Accept a DNS name that may hold underscores (_spf.provider.example, a TSIG key's name)."""
    parts = value.strip().rstrip(".").split(".")
    if len(value) > 253 or len(parts) < labels or not all(_LABEL.fullmatch(p) for p in parts):
        example = "_spf.provider.example" if labels > 1 else "fedipanel"
        raise ValueError(f"must be a DNS name such as {example}")
    return value.strip().rstrip(".")


def _check_include(value: str) -> str:
    return check_name(value, labels=2)


def parse_zones(text: str) -> tuple[str, ...]:
    """Return the zones of a comma- or space-separated list; raise ValueError naming a bad one."""
    zones = []
    for item in re.split(r"[,\s]+", text.strip()):
        if not item:
            continue
        message = problem(check_domain, item.lower())
        if message:
            raise ValueError(f"'{item}' is not a zone name: it {message}")
        zone = item.lower().rstrip(".")
        if zone not in zones:
            zones.append(zone)
    if not zones:
        raise ValueError("must name at least one zone, such as provider.example")
    return tuple(zones)


def validate(values: Values) -> dict[str, str]:
    """Return {key: message} for each value that cannot work."""
    problems: dict[str, str] = {}
    checks = {
        "DNS_SERVER": check_host,
        "DNS_PORT": check_port,
        "DNS_TSIG_SECRET": check_secret,
        "DNS_ZONES": parse_zones,
        "SPF_INCLUDE": _check_include,
        "DNS_TSIG_NAME": check_name,
    }
    for key, check in checks.items():
        value = values.get(key)
        message = problem(check, value) if value else None
        if message:
            problems[key] = message
    algorithm = values.get("DNS_TSIG_ALGORITHM")
    if algorithm and algorithm.lower() not in ALGORITHMS:
        problems["DNS_TSIG_ALGORITHM"] = "must be one of " + ", ".join(ALGORITHMS)
    policy = values.get("DMARC_POLICY")
    if policy and policy not in DMARC_POLICIES:
        problems["DMARC_POLICY"] = "must be one of " + ", ".join(DMARC_POLICIES)
    if values.get("DNS_SERVER"):
        for key in _SERVER_KEYS[1:]:
            if not values.get(key) and key not in problems:
                label = next(f.label for f in FIELDS if f.key == key)
                problems[key] = f"is needed with a DNS server ({label})"
    return problems


def _message(problems: dict[str, str]) -> str:
    return "DNS settings: " + "; ".join(f"FEDIPANEL_{k} {m}" for k, m in problems.items())


def from_values(values: Values, *, timeout: float = 10.0) -> DnsSettings | None:
    """Return the DNS server, or None when none is set; raise ValueError on bad values."""
    if not values.get("DNS_SERVER"):
        return None
    problems = {
        k: m for k, m in validate(values).items() if not k.endswith(("SPF_INCLUDE", "POLICY"))
    }
    if problems:
        raise ValueError(_message(problems))
    connection = Connection(
        server=str(values["DNS_SERVER"]).strip(),
        port=check_port(values.get("DNS_PORT") or 53),
        key_name=str(values["DNS_TSIG_NAME"]).strip(),
        algorithm=(values.get("DNS_TSIG_ALGORITHM") or DEFAULT_ALGORITHM).lower(),
        secret=str(values["DNS_TSIG_SECRET"]).strip(),
        timeout=timeout,
    )
    return DnsSettings(connection, parse_zones(str(values["DNS_ZONES"])))


def mail_policy(values: Values) -> MailRecordPolicy:
    """Return how SPF and DMARC records are written; raise ValueError on bad values."""
    problems = {k: m for k, m in validate(values).items() if k in ("SPF_INCLUDE", "DMARC_POLICY")}
    if problems:
        raise ValueError(_message(problems))
    include = values.get("SPF_INCLUDE")
    return MailRecordPolicy(
        spf_include=_check_include(include) if include else None,
        dmarc_policy=values.get("DMARC_POLICY") or "quarantine",
    )


def test_connection(values: Values) -> list[str]:
    """Check each zone's SOA and make a signed update of a probe record, added then removed."""
    missing = [f.label for f in FIELDS if f.key in _SERVER_KEYS and not values.get(f.key)]
    if missing:
        return [f"Not configured yet: set {', '.join(missing)}."]
    try:
        settings = from_values(values)
    except ValueError as exc:
        return [str(exc)]
    assert settings is not None  # noqa: S101 - DNS_SERVER is set, checked above
    server = settings.server()
    problems = []
    for zone in settings.zones:
        try:
            server.soa(zone)
            _probe(server, zone)
        except DnsError as exc:
            problems.append(str(exc))
    return problems


def _probe(server: DnsServer, zone: str) -> None:
    name = f"{PROBE_LABEL}.{zone}"
    before = server.read(name, "TXT")
    server.change(zone, before, 60, add=[PROBE_TEXT])
    try:
        found = server.read(name, "TXT")
        if PROBE_TEXT not in found.values:
            raise DnsError(
                f"zone {zone}: the server accepted the probe record {name} but does not answer it"
            )
    finally:
        server.delete(zone, name, "TXT", [PROBE_TEXT])


SECTION = Section(
    name="dns",
    title=N_("DNS"),
    description=(
        N_(
            "Every deployment writes the operator's records (addresses, CAA, DKIM, SPF, DMARC) "
            "to this authoritative server through TSIG-signed dynamic updates (RFC 2136), and "
            "only ever changes the records it wrote."
        )
    ),
    fields=FIELDS,
    validate=validate,
    test=test_connection,
)
