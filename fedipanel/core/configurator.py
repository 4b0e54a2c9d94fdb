"""The configurator: an operator's configuration plus provider settings -> desired state."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fedipanel.core import registry
from fedipanel.core.buckets import Bucket, assigned_buckets_for, buckets_for
from fedipanel.core.builders import ServiceContext, from_address
from fedipanel.core.configuration import Configuration
from fedipanel.core.dns_records import MailRecords, dns_records
from fedipanel.core.mail import DkimSigning
from fedipanel.core.nixos import AdminAccount, machine_nixos, options_hash
from fedipanel.core.resources import (
    KINDS,
    MachineSize,
    OperatorFacts,
    ProviderSettings,
    Resource,
    S3Settings,
    SmtpSettings,
)
from fedipanel.core.validators import check_slug, check_ssh_public_key, check_url, problem


@dataclass(frozen=True)
class Machine:
    """One NixOS machine running one service; its name is the service's name."""

    name: str
    service: str
    fqdn: str
    size: MachineSize
    nixos: dict[str, Any]
    admin: AdminAccount | None = None


@dataclass(frozen=True)
class DesiredState:
    """Everything an operator's deployment should consist of."""

    slug: str
    ssh_public_key: str
    machines: dict[str, Machine]
    # A new deploy key authorized beside the current one while the operator is rekeyed.
    next_ssh_public_key: str | None = None
    buckets: tuple[Bucket, ...] = ()
    dns_ttl: int = 300
    smtp: SmtpSettings | None = None
    mail_from: dict[str, str] | None = None
    # Who signs the machines' mail, when they send through the relay.
    dkim: DkimSigning | None = None
    # Garage quota of each bucket FediPanel creates (the operator's quota split evenly).
    bucket_quota: int | None = None
    # Where each service's pre-configured bucket lives, by service.
    assigned_storage: dict[str, tuple[str, str]] | None = None
    # Addresses, CAA and mail records of the services' host names, in that order.
    dns_records: tuple[Resource, ...] = ()

    def ssh_public_keys(self) -> list[str]:
        """Return the deploy keys the machines accept: the current one, then a new one."""
        return [self.ssh_public_key] + (
            [self.next_ssh_public_key] if self.next_ssh_public_key else []
        )

    def resources(self) -> list[Resource]:
        """Return the desired resources in KINDS order."""
        by_kind: dict[str, list[Resource]] = {kind: [] for kind in KINDS}
        key: dict[str, Any] = {"public_key": self.ssh_public_key}
        if self.next_ssh_public_key:
            key["next_public_key"] = self.next_ssh_public_key
        by_kind["ssh_key"].append(Resource("ssh_key", "deploy", key))
        assigned = self.assigned_storage or {}
        for bucket in self.buckets:
            if bucket.assigned:
                if any(r.name == bucket.name for r in by_kind["s3_bucket"]):
                    continue  # one pre-configured bucket serves all of the service's purposes
                endpoint, region = assigned[bucket.service]
                spec = {"service": bucket.service, "assigned": True}
                spec |= {"endpoint": endpoint, "region": region}
                by_kind["s3_bucket"].append(Resource("s3_bucket", bucket.name, spec))
                continue
            spec = {"service": bucket.service, "public_read": bucket.public_read}
            if self.bucket_quota is not None:
                spec["quota_bytes"] = self.bucket_quota
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
            buckets = [b.name for b in self.buckets if b.service == m.service and not b.assigned]
            if buckets:
                by_kind["s3_key"].append(
                    Resource(
                        "s3_key",
                        f"{self.slug}-{m.service}",
                        {"service": m.service, "buckets": buckets},
                    )
                )
            if self.smtp and self.mail_from:
                spec = {
                    "host": self.smtp.host,
                    "port": self.smtp.port,
                    "from_address": self.mail_from[name],
                }
                if self.dkim:
                    spec["dkim"] = f"{self.dkim.selector}._domainkey.{self.dkim.domain}"
                by_kind["mail"].append(Resource("mail", name, spec))
            by_kind["nixos"].append(
                Resource("nixos", name, {"sha256": options_hash(m.nixos), "options": m.nixos})
            )
        by_kind["dns_record"].extend(self.dns_records)
        return [r for kind in KINDS for r in by_kind[kind]]


def _check_inputs(operator: OperatorFacts, settings: ProviderSettings) -> str:
    checks = [
        ("operator slug", check_slug, operator.slug),
        ("the operator's SSH key", check_ssh_public_key, operator.ssh_public_key),
    ]
    if operator.next_ssh_public_key is not None:
        checks.append(
            ("the operator's new SSH key", check_ssh_public_key, operator.next_ssh_public_key)
        )
    endpoints = [settings.s3.endpoint] if settings.s3 else []
    endpoints += [a.endpoint for a in operator.assigned_storage.values()]
    # Credentials in the URL would end up in the world-readable Nix store.
    checks += [("the S3 endpoint", check_url, endpoint) for endpoint in endpoints]
    for what, check, value in checks:
        message = problem(check, value)
        if message:
            raise ValueError(f"{what} {message}")
    return check_ssh_public_key(operator.ssh_public_key)


def desired_state(
    config: Configuration, operator: OperatorFacts, settings: ProviderSettings
) -> DesiredState:
    """Return what an operator's deployment should consist of (no I/O, clock or randomness)."""
    ssh_key = _check_inputs(operator, settings)
    next_key = (
        check_ssh_public_key(operator.next_ssh_public_key) if operator.next_ssh_public_key else None
    )
    ssh_keys = [ssh_key] + ([next_key] if next_key else [])
    machines: dict[str, Machine] = {}
    buckets: list[Bucket] = []
    mail_from: dict[str, str] = {}
    from_domain = settings.smtp.from_domain if settings.smtp else None
    for service in config.enabled():
        fqdn = config.fqdn(service)
        kind = registry.service(service)
        size = settings.sizes.get(service) or kind.default_size
        assigned = operator.assigned_storage.get(service)
        s3 = settings.s3
        if assigned is not None:
            service_buckets = assigned_buckets_for(service, assigned.bucket, kind.buckets)
            s3 = S3Settings(assigned.endpoint, assigned.region, assigned.public_url)
        else:
            service_buckets = buckets_for(operator.slug, service, kind.buckets)
        sender = from_address(operator.slug, service, fqdn, from_domain)
        ctx = ServiceContext(
            service=service,
            fqdn=fqdn,
            admin_email=config.admin.email,
            size=size,
            settings=settings,
            buckets=tuple(service_buckets),
            from_address=sender,
            s3=s3,
            dkim=DkimSigning(config.domain, operator.dkim_selector) if settings.smtp else None,
            directory=operator.directory,
        )
        host_name = fqdn.removesuffix(f".{config.domain}")
        admin = AdminAccount(
            config.admin.username,
            config.admin.email,
            operator.admin_password_generations.get(service, 1),
        )
        nixos = machine_nixos(ctx, host_name, config.domain, ssh_keys, admin)
        machines[service] = Machine(service, service, fqdn, size, nixos, admin)
        buckets.extend(service_buckets)
        mail_from[service] = sender
    return DesiredState(
        dns_records=tuple(
            dns_records(
                {name: m.fqdn for name, m in machines.items()},
                settings.dns_ttl,
                _mail_records(config, operator, settings),
            )
        ),
        slug=operator.slug,
        ssh_public_key=ssh_key,
        next_ssh_public_key=next_key,
        machines=machines,
        buckets=tuple(buckets),
        dns_ttl=settings.dns_ttl,
        smtp=settings.smtp,
        mail_from=mail_from,
        dkim=DkimSigning(config.domain, operator.dkim_selector) if settings.smtp else None,
        bucket_quota=_bucket_quota(settings, buckets),
        assigned_storage={
            service: (a.endpoint, a.region)
            for service, a in operator.assigned_storage.items()
            if service in machines
        },
    )


def _mail_records(
    config: Configuration, operator: OperatorFacts, settings: ProviderSettings
) -> MailRecords | None:
    if settings.smtp is None:
        return None
    return MailRecords(
        admin_email=config.admin.email,
        relay_host=settings.smtp.host,
        from_domain=settings.smtp.from_domain,
        dkim=operator.dkim,
        policy=settings.mail_records,
    )


def _bucket_quota(settings: ProviderSettings, buckets: list[Bucket]) -> int | None:
    own = [b for b in buckets if not b.assigned]
    if not settings.s3 or settings.s3.quota_bytes is None or not own:
        return None
    return settings.s3.quota_bytes // len(own)
