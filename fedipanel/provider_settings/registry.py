"""The sections of the provider's settings page: each external system defines its own."""

from __future__ import annotations

from fedipanel.core import sizes
from fedipanel.core.sections import Section
from fedipanel.providers import mail
from fedipanel.providers.dns import settings as dns
from fedipanel.providers.garage import settings as garage
from fedipanel.providers.proxmox import settings as proxmox

SECTIONS: tuple[Section, ...] = (
    mail.SECTION,
    dns.SECTION,
    garage.SECTION,
    proxmox.SECTION,
    sizes.SECTION,
)


def section(name: str) -> Section | None:
    """Return the section with this name."""
    return next((s for s in SECTIONS if s.name == name), None)


def secret_keys() -> tuple[str, ...]:
    """Return the keys of every secret setting."""
    return tuple(f.key for s in SECTIONS for f in s.fields if f.secret)
