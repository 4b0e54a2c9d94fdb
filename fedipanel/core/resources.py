"""Resources: what the configurator produces and the planner compares."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from fedipanel.core.directory import Directory

# Resource kinds, in the order a deployment creates them.
KINDS: tuple[str, ...] = (
    "ssh_key",
    "machine",
    "s3_bucket",
    "s3_key",
    "dns_record",
    "mail",
    "nixos",
)


@dataclass(frozen=True)
class Resource:
    """One thing FediPanel creates for an operator, identified by (kind, name).

    `spec` is JSON-serialisable and holds everything that, when changed, means an update.
    It never holds a secret.
    """

    kind: str
    name: str
    spec: Mapping[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> tuple[str, str]:
        return (self.kind, self.name)


@dataclass(frozen=True)
class MachineSize:
    """The virtual hardware of one machine."""

    cores: int
    memory_mib: int
    disk_gib: int


@dataclass(frozen=True)
class SmtpSettings:
    """The provider's mail relay; the password itself is delivered to machines as a file."""

    host: str
    port: int = 587
    user: str | None = None
    from_domain: str | None = None


@dataclass(frozen=True)
class MailRecordPolicy:
    """How the provider wants the SPF and DMARC records of sending domains written."""

    spf_include: str | None = None
    dmarc_policy: str = "quarantine"


@dataclass(frozen=True)
class DkimRecord:
    """Where an operator's DKIM public key is published; `value` is None until it is generated."""

    name: str
    value: str | None


@dataclass(frozen=True)
class S3Settings:
    """The provider's S3 endpoint (Garage)."""

    endpoint: str
    region: str = "garage"
    public_url: str | None = None
    # The operator's storage quota, split evenly over its buckets (Garage quotas are per bucket).
    quota_bytes: int | None = None


@dataclass(frozen=True)
class AssignedS3:
    """A bucket the provider gave one of an operator's services (no secret: that is delivered)."""

    endpoint: str
    region: str
    bucket: str
    public_url: str | None = None


@dataclass(frozen=True)
class ProviderSettings:
    """The provider's choices the configurator needs; plain values, no secrets."""

    sizes: Mapping[str, MachineSize]
    acme_email: str
    state_version: str = "25.05"
    dns_ttl: int = 300
    smtp: SmtpSettings | None = None
    s3: S3Settings | None = None
    mail_records: MailRecordPolicy = field(default_factory=MailRecordPolicy)


@dataclass(frozen=True)
class OperatorFacts:
    """What the configurator needs to know about the operator besides its configuration."""

    slug: str
    ssh_public_key: str
    # Pre-configured buckets by service: used instead of creating buckets and keys.
    assigned_storage: Mapping[str, AssignedS3] = field(default_factory=dict)
    # The selector of the operator's DKIM key (the key itself is generated at deployment).
    dkim_selector: str = "fedipanel"
    # The DKIM key of the operator's domain (with the relay configured).
    dkim: DkimRecord | None = None
    # How often each service's admin password was rotated (1 for the first): a new one
    # changes the machine's configuration, so the plan shows it and the machine applies it.
    admin_password_generations: Mapping[str, int] = field(default_factory=dict)
    # The operator's LDAP directory (no password: that is delivered as a file).
    directory: Directory | None = None
    # The deploy key that replaces `ssh_public_key` once a rekeying deployment succeeded:
    # until then the machines accept both.
    next_ssh_public_key: str | None = None
