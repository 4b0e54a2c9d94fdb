"""Which external systems are real and which are simulated, from the provider's settings."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from fedipanel.provider_settings import service as settings
from fedipanel.providers.nixops4 import Nixops4Error, find_executable


@dataclass(frozen=True)
class System:
    """One external system a deployment talks to."""

    key: str
    label: str
    real: bool
    how_to_configure: str


def external_systems(config: Mapping[str, Any]) -> list[System]:
    """Return every external system with whether the provider has configured it.

    Needs an app context: settings saved in the panel count as configured.
    """
    try:
        nixops4_real = find_executable(config.get("NIXOPS4")) is not None
    except Nixops4Error:
        nixops4_real = True  # configured but broken: the deploy step reports why
    return _secrets_follow_machines(
        [
            System(
                "machines",
                "virtual machines",
                _machines_configured(),
                "Proxmox (FEDIPANEL_PROXMOX_URL) or a pool of pre-deployed VMs",
            ),
            System(
                "storage",
                "S3 storage",
                _garage_configured(),
                "Garage (FEDIPANEL_S3_ENDPOINT, FEDIPANEL_GARAGE_ADMIN_URL and _TOKEN)",
            ),
            System("dns", "DNS records", False, "a DNS provider"),
            System("secrets", "secret delivery", False, "machines reachable over SSH"),
            System(
                "mail",
                "mail relay",
                bool(settings.get("SMTP_HOST")),
                "an SMTP relay (FEDIPANEL_SMTP_HOST)",
            ),
            System("nixops4", "nixops4", nixops4_real, "nixops4 on PATH or FEDIPANEL_NIXOPS4"),
        ]
    )


def _machines_configured() -> bool:
    from fedipanel.machines.service import SIMULATED, backend

    return backend() != SIMULATED


def _garage_configured() -> bool:
    from fedipanel.providers.garage import settings as garage

    return garage.current() is not None


def _secrets_follow_machines(systems: list[System]) -> list[System]:
    """Secrets go over SSH to real machines; to simulated ones they are only simulated."""
    machines_real = next(s.real for s in systems if s.key == "machines")
    return [
        System(s.key, s.label, machines_real, s.how_to_configure) if s.key == "secrets" else s
        for s in systems
    ]


def simulated_systems(config: Mapping[str, Any]) -> list[System]:
    """Return the systems a deployment would only simulate."""
    return [system for system in external_systems(config) if not system.real]
