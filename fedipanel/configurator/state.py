"""The configurator: an operator's configuration plus provider settings -> desired state."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from .nixos import machine_nixos, options_hash
from .resources import (
    DEFAULT_SIZES,
    KINDS,
    MachineSize,
    OperatorFacts,
    ProviderSettings,
    Resource,
    SmtpSettings,
)
from .services import ServiceContext, from_address
from .storage import Bucket, buckets_for

if TYPE_CHECKING:
    # Only for typing: the configurator never imports the web-facing package at run time.
    from ..configurations.schema import Configuration

_SLUG = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$")
_SSH_PUBLIC_KEY = re.compile(
    r"^(ssh-(ed25519|rsa|dss)|ecdsa-sha2-nistp(256|384|521)"
    r"|sk-(ssh-ed25519|ecdsa-sha2-nistp256)@openssh\.com) [A-Za-z0-9+/]+={0,3}( [^\r\n]*)?$"
)


@dataclass(frozen=True)
class Machine:
    """One NixOS machine running one service; its name is the service's name."""

    name: str
    service: str
    fqdn: str
    size: MachineSize
    nixos: dict[str, Any]


@dataclass(frozen=True)
class DesiredState:
    """Everything an operator's deployment should consist of."""

    slug: str
    ssh_public_key: str
    machines: dict[str, Machine]
    buckets: tuple[Bucket, ...] = ()
    dns_ttl: int = 300
    smtp: SmtpSettings | None = None
    mail_from: dict[str, str] | None = None

    def resources(self) -> list[Resource]:
        """Return the desired resources in KINDS order."""
        by_kind: dict[str, list[Resource]] = {kind: [] for kind in KINDS}
        by_kind["ssh_key"].append(
            Resource("ssh_key", "deploy", {"public_key": self.ssh_public_key})
        )
        for bucket in self.buckets:
            spec = {"service": bucket.service, "public_read": bucket.public_read}
            by_kind["s3_bucket"].append(
                Resource("s3_bucket", bucket.name, spec | {"cors": bucket.cors})
            )
        for name, m in self.machines.items():
            size = m.size
            by_kind["machine"].append(
                Resource(
                    "machine",
                    name,
                    {
                        "service": m.service,
                        "cores": size.cores,
                        "memory_mib": size.memory_mib,
                        "disk_gib": size.disk_gib,
                    },
                )
            )
            buckets = [b.name for b in self.buckets if b.service == m.service]
            if buckets:
                by_kind["s3_key"].append(
                    Resource(
                        "s3_key",
                        f"{self.slug}-{m.service}",
                        {"service": m.service, "buckets": buckets},
                    )
                )
            by_kind["dns_record"].append(
                Resource("dns_record", m.fqdn, {"type": "A", "machine": name, "ttl": self.dns_ttl})
            )
            if self.smtp and self.mail_from:
                spec = {
                    "host": self.smtp.host,
                    "port": self.smtp.port,
                    "from_address": self.mail_from[name],
                }
                by_kind["mail"].append(Resource("mail", name, spec))
            by_kind["nixos"].append(
                Resource("nixos", name, {"sha256": options_hash(m.nixos), "options": m.nixos})
            )
        return [r for kind in KINDS for r in by_kind[kind]]


def _check_inputs(operator: OperatorFacts, settings: ProviderSettings) -> str:
    if not _SLUG.fullmatch(operator.slug):
        raise ValueError(
            f"operator slug {operator.slug!r} must be lowercase letters, digits, hyphens"
        )
    key = operator.ssh_public_key.strip()
    if not _SSH_PUBLIC_KEY.fullmatch(key):
        raise ValueError("the operator's SSH key must be one line of an OpenSSH public key")
    if settings.s3 and (urlsplit(settings.s3.endpoint).username or "@" in settings.s3.endpoint):
        # Credentials in the URL would end up in the world-readable Nix store.
        raise ValueError("the S3 endpoint must not contain credentials")
    return key


def desired_state(
    config: Configuration, operator: OperatorFacts, settings: ProviderSettings
) -> DesiredState:
    """Return what an operator's deployment should consist of (no I/O, clock or randomness)."""
    ssh_key = _check_inputs(operator, settings)
    machines: dict[str, Machine] = {}
    buckets: list[Bucket] = []
    mail_from: dict[str, str] = {}
    from_domain = settings.smtp.from_domain if settings.smtp else None
    for service in config.enabled():
        fqdn = config.fqdn(service)
        size = settings.sizes.get(service) or DEFAULT_SIZES[service]
        service_buckets = buckets_for(operator.slug, service)
        sender = from_address(operator.slug, service, fqdn, from_domain)
        ctx = ServiceContext(
            service=service,
            fqdn=fqdn,
            admin_email=config.admin.email,
            size=size,
            settings=settings,
            buckets=tuple(service_buckets),
            from_address=sender,
        )
        host_name = fqdn.removesuffix(f".{config.domain}")
        nixos = machine_nixos(ctx, host_name, config.domain, ssh_key)
        machines[service] = Machine(service, service, fqdn, size, nixos)
        buckets.extend(service_buckets)
        mail_from[service] = sender
    return DesiredState(
        slug=operator.slug,
        ssh_public_key=ssh_key,
        machines=machines,
        buckets=tuple(buckets),
        dns_ttl=settings.dns_ttl,
        smtp=settings.smtp,
        mail_from=mail_from,
    )
