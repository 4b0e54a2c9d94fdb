"""Four pool VMs on loopback sshd, with services: real machines for nixops4 deployments.

`loopback_machines(root, ...)` gives its caller (the pytest plugin tests/plugins/machines.py,
the log latency benchmark) four pre-deployed VMs (127.0.12.10 to .13, a real sshd
each, accepting the operators' deploy keys), the `fedipanel-admin` and `fedipanel-wipe`
stand-ins they run, and fake Mastodon, PeerTube and Pixelfed over TLS on each address, for the
operators' domains in DOMAINS, signed by a CA the panel is told to trust. Everything lives
under `root`, which the settings name (`LoopbackMachines.settings()`); no real system path is
written. `reset()` forgets what a deployment left (authorized keys, delivered files, accounts);
`install(app)`, called once the operators exist, puts the VMs in the pool.

The VMs all are this machine, yet each has a keys directory of its own, as separate VMs do: the
sshd of each runs what it is asked through a wrapper that points the panel's keys directory at
the VM's own. The admin stand-in sets the service's administrator password on its VM to the
one delivered there; the fake services on that VM's address accept only that password.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import select

from fedipanel.db import db
from fedipanel.keys.models import DeployKey
from fedipanel.machines import pool
from fedipanel.machines.models import PooledVm
from tests.fakes.fediverse import FakeFediverse, Fediverse
from tests.fakes.proxmox import start_sshd
from tests.fakes.tls_ca import TestCa
from tests.helpers import FAKES, free_port

ADDRESSES = ("127.0.12.10", "127.0.12.11", "127.0.12.12", "127.0.12.13")
# The operators' domains the fake services answer for (sample_config's admin on each).
DOMAINS = ("acme.example", "acme.provider.example", "locked.example", "beta.example")
SERVICES = ("mastodon", "pixelfed", "peertube")

SHELL = """#!/bin/sh
# Each loopback VM is this machine: the panel's keys directory becomes the VM's own.
exec /bin/sh -c "$(printf '%s\\n' "$SSH_ORIGINAL_COMMAND" | sed "s#$SHARED_KEYS#$VM_KEYS#g")"
"""
ADMIN = """#!/bin/sh
# Stand-in for fedipanel-admin: gives the service's administrator the password delivered to
# this VM (the fake services accept only that one) and records where it ran.
set -eu
set -- $SSH_CONNECTION "$@"
password="$VM_KEYS/$5-admin-password"
if [ ! -f "$password" ]; then
  echo "fedipanel-admin: $password was not delivered" >&2
  exit 1
fi
mkdir -p "{accounts}/$3"
cp "$password" "{accounts}/$3/$5"
echo "$3 fedipanel-admin $5" >> "{record}"
echo "$5: alice is an administrator with the panel's password"
"""
WIPE = """#!/bin/sh
# Stand-in for fedipanel-wipe: empties the VM's keys directory and records where it ran.
set -eu
set -- $SSH_CONNECTION
rm -rf -- "$VM_KEYS"
echo "$3" >> "{record}"
echo "fedipanel-wipe: done"
"""


@dataclass
class LoopbackMachines:
    """The VMs, their stand-ins' records and the fake services of one session."""

    root: Path
    ssh_port: int
    health_port: int
    ca_bundle: Path
    host_keys: dict[str, str]
    services: FakeFediverse

    @property
    def addresses(self) -> tuple[str, ...]:
        return ADDRESSES

    @property
    def shared_keys(self) -> Path:
        """The keys directory the panel is told about (no VM writes there)."""
        return self.root / "keys"

    def keys_dir(self, address: str) -> Path:
        """Return the keys directory of the VM at `address`."""
        return self.root / "vm" / address / "keys"

    @property
    def admin_record(self) -> Path:
        return self.root / "admin-ran"

    @property
    def wipe_record(self) -> Path:
        return self.root / "wiped-on"

    def settings(self, **overrides: Any) -> dict[str, Any]:
        """Return the app settings that deploy to these VMs with the fake nixops4."""
        return {
            "VM_SSH_PORT": self.ssh_port,
            "KEYS_DIR": str(self.shared_keys),
            "ADMIN_COMMAND": str(self.root / "bin" / "fedipanel-admin"),
            "WIPE_COMMAND": str(self.root / "bin" / "fedipanel-wipe"),
            "NIXOPS4": str(FAKES / "nixops4"),
            "HEALTH_PORT": self.health_port,
            "HEALTH_CA_BUNDLE": str(self.ca_bundle),
            "HEALTH_TIMEOUT": 0,
            **overrides,
        }

    def install(self, app: Flask) -> None:
        """Put the VMs in the app's pool (once) and let every operator's deploy keys log in to
        them; call again after adding operators or starting a rekeying."""
        with app.app_context():
            pooled = set(db.session.scalars(select(PooledVm.address)))
            for address in ADDRESSES:
                if address not in pooled:
                    pool.add(address, self.host_keys[address])
            rows = db.session.execute(select(DeployKey.public_key, DeployKey.next_public_key))
            # A rekeying's pending key too: the machine's NixOS configuration authorizes both.
            keys = [key for row in rows for key in row if key]
        if not keys:
            raise RuntimeError("install the loopback machines once an operator exists")
        for address in ADDRESSES:
            authorized = self.root / "vm" / address / "authorized_keys"
            authorized.write_text("".join(f"{key.strip()}\n" for key in keys))

    def admins_applied(self) -> list[str]:
        """Return where the admin stand-in ran, as "address fedipanel-admin service" lines."""
        record = self.admin_record
        return record.read_text().splitlines() if record.exists() else []

    def wiped(self) -> list[str]:
        """Return the addresses the wipe stand-in ran on."""
        record = self.wipe_record
        return record.read_text().split() if record.exists() else []

    def reset(self) -> None:
        """Forget everything an earlier test left: keys, accounts, records, the services' state."""
        shutil.rmtree(self.shared_keys, ignore_errors=True)
        for address in ADDRESSES:
            shutil.rmtree(self.keys_dir(address), ignore_errors=True)
            (self.root / "vm" / address / "authorized_keys").write_text("")
        shutil.rmtree(self.root / "accounts", ignore_errors=True)
        for record in (self.admin_record, self.wipe_record):
            record.unlink(missing_ok=True)
        for state in self.services.states:
            with state.lock:
                state.requests.clear()
                state.apps.clear()
                state.tokens.clear()


def _password(accounts: Path, address: str, service: str) -> str | None:
    path = accounts / address / service
    return path.read_text() if path.exists() else None


def _wait_for_ssh(process: subprocess.Popen[bytes], address: str, port: int) -> None:
    deadline = time.monotonic() + 10
    while process.poll() is None and time.monotonic() < deadline:
        try:
            with socket.create_connection((address, port), timeout=1) as sock:
                if sock.recv(4).startswith(b"SSH-"):
                    return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"sshd on {address}:{port} did not start")


@contextmanager
def loopback_machines(root: Path, sshd: str) -> Iterator[LoopbackMachines]:
    """Start the VMs' sshd (as root) and the fake services under `root`; stop them on exit."""
    bin_dir = root / "bin"
    bin_dir.mkdir()
    for name, text in (
        ("vm-shell", SHELL),
        ("fedipanel-admin", ADMIN.format(accounts=root / "accounts", record=root / "admin-ran")),
        ("fedipanel-wipe", WIPE.format(record=root / "wiped-on")),
    ):
        (bin_dir / name).write_text(text)
        (bin_dir / name).chmod(0o755)
    ssh_port, health_port = free_port(), free_port()
    ca = TestCa(root / "ca")
    states = [
        Fediverse(
            domain=domain,
            username="alice",
            email="alice@acme.example",
            password_for=lambda _service: None,
            password_at=lambda address, service: _password(root / "accounts", address, service),
        )
        for domain in DOMAINS
    ]
    issued = ca.issue(*(f"{service}.{domain}" for domain in DOMAINS for service in SERVICES))
    processes = []
    host_keys: dict[str, str] = {}
    try:
        for address in ADDRESSES:
            home = root / "vm" / address
            process, host_keys[address] = start_sshd(
                sshd,
                home,
                address,
                ssh_port,
                "",
                environment={"SHARED_KEYS": str(root / "keys"), "VM_KEYS": str(home / "keys")},
                force_command=str(bin_dir / "vm-shell"),
            )
            processes.append(process)
            _wait_for_ssh(process, address, ssh_port)
        fake = FakeFediverse(states[0], issued, list(ADDRESSES), health_port, more=states[1:])
        with fake as services:
            yield LoopbackMachines(root, ssh_port, health_port, ca.bundle, host_keys, services)
    finally:
        for process in processes:
            process.terminate()
            process.wait(5)
