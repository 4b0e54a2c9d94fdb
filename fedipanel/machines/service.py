"""Where operators' machines come from: Proxmox, the pool of pre-deployed VMs, or a simulator."""

from __future__ import annotations

from fedipanel.machines import pool
from fedipanel.provider_settings import service as settings
from fedipanel.providers.proxmox import settings as proxmox

PROXMOX, POOL, SIMULATED = "proxmox", "pool", "simulated"


def backend() -> str:
    """Return which kind of machines deployments get now."""
    if proxmox.is_configured(settings.values(proxmox.KEYS)):
        return PROXMOX
    if pool.has_entries():
        return POOL
    return SIMULATED


def proxmox_settings() -> proxmox.ProxmoxSettings:
    """Return the Proxmox settings; raise ValueError naming what is wrong."""
    return proxmox.load(settings.values(proxmox.KEYS))
