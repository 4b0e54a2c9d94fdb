"""Which external systems are real and which are simulated, from the provider's settings."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from fedipanel.machines import pool
from fedipanel.providers.nixops4 import Nixops4Error, find_executable
from fedipanel.settings.effective import Settings


class SystemKey(enum.StrEnum):
    """An external system a deployment talks to."""

    MACHINES = "machines"
    STORAGE = "storage"
    DNS = "dns"
    SECRETS = "secrets"
    MAIL = "mail"
    NIXOPS4 = "nixops4"


class MachineBackend(enum.StrEnum):
    """Where operators' machines come from."""

    PROXMOX = "proxmox"
    POOL = "pool"
    SIMULATED = "simulated"


@dataclass(frozen=True)
class System:
    """One external system, with whether the provider has configured it."""

    key: SystemKey
    label: str
    real: bool
    how_to_configure: str


def machine_backend(settings: Settings) -> MachineBackend:
    """Return where deployments get their machines now."""
    if settings.proxmox is not None or "proxmox" in settings.problems:
        return MachineBackend.PROXMOX
    if pool.has_entries():
        return MachineBackend.POOL
    return MachineBackend.SIMULATED


def external_systems(settings: Settings) -> list[System]:
    """Return every external system with whether the provider has configured it."""
    try:
        nixops4_real = find_executable(settings.nixops4) is not None
    except Nixops4Error:
        nixops4_real = True  # configured but broken: the deploy step reports why
    machines_real = machine_backend(settings) != MachineBackend.SIMULATED
    return [
        System(
            SystemKey.MACHINES,
            "virtual machines",
            machines_real,
            "Proxmox (FEDIPANEL_PROXMOX_URL) or a pool of pre-deployed VMs",
        ),
        System(
            SystemKey.STORAGE,
            "S3 storage",
            settings.garage is not None,
            "Garage (FEDIPANEL_S3_ENDPOINT, FEDIPANEL_GARAGE_ADMIN_URL and _TOKEN)",
        ),
        System(
            SystemKey.DNS,
            "DNS records",
            settings.dns is not None or "dns" in settings.problems,
            "a DNS server (FEDIPANEL_DNS_SERVER, _DNS_TSIG_NAME, _DNS_TSIG_SECRET, _DNS_ZONES)",
        ),
        # Secrets go over SSH to real machines; to simulated ones they are only simulated.
        System(SystemKey.SECRETS, "secret delivery", machines_real, "machines reachable over SSH"),
        System(
            SystemKey.MAIL,
            "mail relay",
            settings.mail is not None,
            "an SMTP relay (FEDIPANEL_SMTP_HOST)",
        ),
        System(SystemKey.NIXOPS4, "nixops4", nixops4_real, "nixops4 on PATH or FEDIPANEL_NIXOPS4"),
    ]


def simulated_systems(settings: Settings) -> list[System]:
    """Return the systems a deployment would only simulate."""
    return [system for system in external_systems(settings) if not system.real]


def nixops4_refusal(settings: Settings) -> str | None:
    """Say why nixops4 must not run, or None: real nixops4 against simulated machines would
    deploy to made-up addresses with no host keys."""
    if machine_backend(settings) != MachineBackend.SIMULATED:
        return None
    try:
        if find_executable(settings.nixops4) is None:
            return None  # simulated too
        problem = ""
    except Nixops4Error as exc:
        problem = f" ({exc})"
    return (
        f"nixops4 is configured{problem} but the machines are only simulated, so it would "
        "deploy to made-up addresses. The provider must configure Proxmox "
        "(FEDIPANEL_PROXMOX_URL) or a pool of pre-deployed VMs (Provider → VM pool) first, or "
        "leave nixops4 out (FEDIPANEL_NIXOPS4 unset, none on PATH) to simulate it too. "
        "Nothing was deployed."
    )
