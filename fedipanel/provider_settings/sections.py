"""The sections of the provider's settings page; each external system adds one here."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class SettingField:
    """One input on the settings page, stored under `key` (FEDIPANEL_<key> in the environment)."""

    key: str
    label: str
    help: str = ""
    secret: bool = False
    placeholder: str = ""


# A connection test gets the section's effective values and answers plain-language problems
# (an empty list means the connection works).
ConnectionTest = Callable[[Mapping[str, str | None]], list[str]]


@dataclass(frozen=True)
class Section:
    """A group of settings for one external system, with an optional connection test."""

    name: str
    title: str
    description: str
    fields: tuple[SettingField, ...]
    test: ConnectionTest | None = field(default=None, compare=False)
    # Validates entered values before saving: {key: message} for the values that are wrong.
    validate: Callable[[Mapping[str, str | None]], dict[str, str]] | None = field(
        default=None, compare=False
    )


def _mail_fields() -> tuple[SettingField, ...]:
    return (
        SettingField(
            "SMTP_HOST",
            "SMTP relay host",
            "Where the services send mail",
            placeholder="smtp.provider.example",
        ),
        SettingField("SMTP_PORT", "Port", "587 for STARTTLS", placeholder="587"),
        SettingField("SMTP_USER", "User name"),
        SettingField(
            "SMTP_PASSWORD", "Password", "Delivered to the machines as a file", secret=True
        ),
        SettingField(
            "SMTP_FROM_DOMAIN",
            "Sender domain",
            "Mail comes from <operator>-<service>@this domain; empty: each service's own host",
        ),
    )


def _check_mail(values: Mapping[str, str | None]) -> dict[str, str]:
    port = values.get("SMTP_PORT")
    if port and not (port.isdigit() and 0 < int(port) < 65536):
        return {"SMTP_PORT": "must be a port number between 1 and 65535"}
    return {}


GARAGE_FIELDS = (
    SettingField(
        "S3_ENDPOINT",
        "S3 API URL",
        "Garage's S3 API, reachable from the panel and the machines (port 3900)",
        placeholder="https://s3.provider.example",
    ),
    SettingField(
        "S3_REGION", "Region", "Garage's s3_region (default garage)", placeholder="garage"
    ),
    SettingField(
        "S3_PUBLIC_URL",
        "Public media URL",
        "Where browsers fetch public media; {bucket} is replaced by the bucket name "
        "(empty: the S3 API URL, path-style)",
        placeholder="https://{bucket}.web.provider.example",
    ),
    SettingField(
        "GARAGE_ADMIN_URL",
        "Admin API URL",
        "Garage's admin API v2 (port 3903)",
        placeholder="https://garage-admin.provider.example:3903",
    ),
    SettingField(
        "GARAGE_ADMIN_TOKEN",
        "Admin token",
        "admin_token (or a v2 admin token allowed to manage buckets and keys)",
        secret=True,
    ),
    SettingField(
        "S3_QUOTA_GIB",
        "Storage quota per operator (GiB)",
        "Split evenly over the operator's buckets (Garage's quotas are per bucket); empty: none",
        placeholder="100",
    ),
)


def _check_garage(values: Mapping[str, str | None]) -> dict[str, str]:
    from fedipanel.providers.garage.settings import validate

    return validate(values)


def _test_garage(values: Mapping[str, str | None]) -> list[str]:
    from fedipanel.providers.garage.settings import test_connection

    return test_connection(values)


PROXMOX_FIELDS = (
    SettingField("PROXMOX_URL", "API URL", "The cluster's API", placeholder="https://pve1:8006"),
    SettingField(
        "PROXMOX_TOKEN_ID",
        "API token ID",
        "See the README for the privileges it needs",
        placeholder="fedipanel@pve!panel",
    ),
    SettingField("PROXMOX_TOKEN_SECRET", "API token secret", "The token's UUID", secret=True),
    SettingField(
        "PROXMOX_VERIFY",
        "Verify TLS",
        "true, false, or the path of a CA bundle on the panel's machine",
        placeholder="true",
    ),
    SettingField(
        "PROXMOX_NODES", "Nodes", "Comma-separated; empty: every node", placeholder="pve1,pve2"
    ),
    SettingField(
        "PROXMOX_TEMPLATE", "Template VMID", "A NixOS cloud-init template", placeholder="9000"
    ),
    SettingField("PROXMOX_STORAGE", "Storage", "Where VM disks go (shared)", placeholder="linstor"),
    SettingField("PROXMOX_POOL", "Pool", "Resource pool for the VMs", placeholder="fedipanel"),
    SettingField(
        "VM_ADDRESSES",
        "Address range",
        "Static addresses for VMs, with prefix",
        placeholder="192.0.2.10-192.0.2.99/24",
    ),
    SettingField("VM_GATEWAY", "Gateway", placeholder="192.0.2.1"),
    SettingField(
        "VM_NAMESERVERS", "Name servers", "Comma- or space-separated", placeholder="192.0.2.53"
    ),
    SettingField("VM_SSH_PORT", "SSH port", "Where new VMs answer SSH", placeholder="22"),
)


def _check_proxmox(values: Mapping[str, str | None]) -> dict[str, str]:
    from fedipanel.providers.proxmox.settings import validate

    return validate(values)


def _test_proxmox(values: Mapping[str, str | None]) -> list[str]:
    from fedipanel.providers.proxmox.settings import test_connection

    return test_connection(values)


SIZE_FIELDS = tuple(
    SettingField(
        f"SIZE_{service.upper()}",
        f"{service.capitalize()} machine",
        "vCPUs/memory MiB/disk GiB; empty: the default (FEDIPANEL_SIZES wins)",
        placeholder=default,
    )
    for service, default in (
        ("mastodon", "4/8192/40"),
        ("pixelfed", "2/4096/30"),
        ("peertube", "4/8192/60"),
    )
)


def _check_sizes(values: Mapping[str, str | None]) -> dict[str, str]:
    from fedipanel.machines.sizes import parse_size

    problems = {}
    for key, value in values.items():
        if value:
            try:
                parse_size(value)
            except ValueError as exc:
                problems[key] = str(exc)
    return problems


SECTIONS: list[Section] = [
    Section(
        name="mail",
        title="Mail relay",
        description="The SMTP relay every service sends its mail through.",
        fields=_mail_fields(),
        validate=_check_mail,
    ),
    Section(
        name="garage",
        title="S3 storage (Garage)",
        description=(
            "Buckets and keys for every operator's services are created through Garage's admin "
            "API; the services store their media over its S3 API."
        ),
        fields=GARAGE_FIELDS,
        test=_test_garage,
        validate=_check_garage,
    ),
    Section(
        name="proxmox",
        title="Proxmox",
        description=(
            "The cluster operators' VMs are cloned on. Without it, machines come from the pool "
            "of pre-deployed VMs (Provider → VM pool), or are simulated."
        ),
        fields=PROXMOX_FIELDS,
        test=_test_proxmox,
        validate=_check_proxmox,
    ),
    Section(
        name="sizes",
        title="Machine sizes",
        description=(
            "The virtual hardware of each service's machine. A disk can grow but never shrink."
        ),
        fields=SIZE_FIELDS,
        validate=_check_sizes,
    ),
]


def section(name: str) -> Section | None:
    """Return the section with this name."""
    return next((s for s in SECTIONS if s.name == name), None)
