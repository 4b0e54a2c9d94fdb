"""A real OpenSSH server on loopback for tests (Debian's /usr/sbin/sshd, running as root)."""

from __future__ import annotations

import os
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tests.helpers import free_port, require, require_program


def keypair() -> tuple[str, str]:
    """Return a new ed25519 key pair: the private key (OpenSSH PEM) and the public key line."""
    private = Ed25519PrivateKey.generate()
    pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.OpenSSH,
        serialization.NoEncryption(),
    ).decode()
    public = (
        private.public_key()
        .public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
        .decode()
    )
    return pem, public


@dataclass(frozen=True)
class Sshd:
    port: int
    host_public_key: str
    authorized_keys: Path


def run_sshd(tmp: Path, authorized_key: str) -> Iterator[Sshd]:
    """Start sshd on a free loopback port accepting `authorized_key` for root."""
    sshd = require_program("sshd")
    keygen = require_program("ssh-keygen")
    require_program("ssh")
    require(os.geteuid() == 0, "sshd must run as root to log in as root")
    tmp.mkdir(parents=True, exist_ok=True)
    host_key = tmp / "host_ed25519"
    subprocess.run([keygen, "-q", "-t", "ed25519", "-N", "", "-f", str(host_key)], check=True)
    authorized = tmp / "authorized_keys"
    authorized.write_text(authorized_key.strip() + "\n")
    port = free_port()
    config = tmp / "sshd_config"
    config.write_text(
        f"Port {port}\nListenAddress 127.0.0.1\nHostKey {host_key}\n"
        f"AuthorizedKeysFile {authorized}\nPidFile {tmp / 'sshd.pid'}\n"
        "PermitRootLogin prohibit-password\nPasswordAuthentication no\n"
        "KbdInteractiveAuthentication no\nUsePAM no\nStrictModes no\n"
    )
    Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # privilege separation directory
    process = subprocess.Popen(
        [sshd, "-D", "-e", "-f", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
                    if sock.recv(4).startswith(b"SSH-"):
                        break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"sshd did not start: {process.stderr.read()!r}")  # type: ignore[union-attr]
            time.sleep(0.05)
        public = host_key.with_suffix(".pub").read_text().split()
        yield Sshd(port, f"{public[0]} {public[1]}", authorized)
    finally:
        process.terminate()
        process.wait(5)
        if process.stderr:
            process.stderr.close()
