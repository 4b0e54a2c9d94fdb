"""Fixtures that point a panel at the fake Proxmox (with a real sshd per started VM)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tests.conftest import require_program
from tests.fakes.proxmox import FakeProxmox

ADDRESSES = "127.0.10.10-127.0.10.20/24"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def running_fake(tmp_path: Path) -> Iterator[FakeProxmox]:
    """Run a fake Proxmox whose started VMs answer SSH (for a fixture to `yield from`)."""
    sshd = require_program("sshd")
    require_program("ssh-keyscan")
    fake = FakeProxmox(tmp_path / "pve", ssh_port=free_port(), sshd=sshd, task_delay=0.05)
    fake.start()
    try:
        yield fake
    finally:
        fake.stop()


def panel_settings(fake: FakeProxmox, keys_dir: Path, **overrides: Any) -> dict[str, Any]:
    """Return app settings that make deployments use the fake cluster, with fast retries.

    The fake's VMs are this machine: secrets delivered over SSH land in `keys_dir`.
    """
    return {
        "KEYS_DIR": str(keys_dir),
        **fake.settings(VM_ADDRESSES=ADDRESSES),
        "PROXMOX_BACKOFF": 0.01,
        "PROXMOX_TASK_POLL": 0.02,
        "VM_BOOT_TIMEOUT": 15,
        **overrides,
    }
