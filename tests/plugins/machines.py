"""Real machines for deployments that run nixops4: pool VMs on loopback sshd, with services.

`loopback_machines` gives a test the four VMs of tests/fakes/loopback_machines.py: a real sshd
each, accepting the operators' deploy keys, and fake services over TLS. The sshd processes and
the fake services start once per session; each test gets them reset (no authorized key, no
delivered file, no account) and calls `install(app)` once its operators exist, which puts the
VMs in the pool. Their settings (`loopback_machines.settings()`) go to `app_overrides`.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator

import pytest

from tests.fakes.loopback_machines import ADDRESSES, DOMAINS, SERVICES, LoopbackMachines
from tests.fakes.loopback_machines import loopback_machines as start_loopback_machines
from tests.helpers import require, require_program

__all__ = ["ADDRESSES", "DOMAINS", "SERVICES", "LoopbackMachines"]


@pytest.fixture(scope="session")
def loopback_vms(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LoopbackMachines]:
    """Start the VMs' sshd and the fake services once per session."""
    sshd = require_program("sshd")
    require_program("ssh")
    require_program("ssh-keygen")
    require(shutil.which("sed") is not None, "sed is not installed")
    require(os.geteuid() == 0, "sshd must run as root to log in as root")
    with start_loopback_machines(tmp_path_factory.mktemp("loopback-machines"), sshd) as machines:
        yield machines


@pytest.fixture
def loopback_machines(loopback_vms: LoopbackMachines) -> LoopbackMachines:
    """The session's loopback VMs, reset for this test; call `install(app)` once operators exist."""
    loopback_vms.reset()
    return loopback_vms
