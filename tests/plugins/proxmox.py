"""Fixtures that point a panel at the fake Proxmox (with a real sshd per started VM)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.fakes.proxmox import FakeProxmox
from tests.helpers import free_port, require_program

ADDRESSES = "127.0.10.10-127.0.10.20/24"


@pytest.fixture
def fake_pve(tmp_path: Path) -> Iterator[FakeProxmox]:
    """Run a fake Proxmox whose started VMs answer SSH."""
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
