"""Waiting for a new machine's SSH server and reading its host key."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Callable


class HostKeyError(Exception):
    """The machine's SSH server did not answer or gave no usable key."""


def wait_for_port(
    address: str,
    port: int,
    timeout: float,
    poll: float = 0.5,
    stop: Callable[[], bool] | None = None,
) -> None:
    """Wait until a TCP connection to address:port succeeds and the server says SSH.

    `stop` is asked between tries; when it says yes, the wait ends with HostKeyError.
    """
    deadline = time.monotonic() + timeout
    last = "no answer"
    while time.monotonic() < deadline:
        if stop is not None and stop():
            raise HostKeyError(f"stopped waiting for SSH on {address}:{port}")
        try:
            with socket.create_connection((address, port), timeout=min(5.0, timeout)) as sock:
                sock.settimeout(5.0)
                banner = sock.recv(64)
                if banner.startswith(b"SSH-"):
                    return
                last = f"not an SSH server ({banner[:20]!r})"
        except OSError as exc:
            last = exc.strerror or str(exc)
        time.sleep(poll)
    raise HostKeyError(f"SSH on {address}:{port} did not answer within {timeout:.0f}s ({last})")


def scan(address: str, port: int = 22, timeout: float = 30.0) -> str:
    """Return the machine's ed25519 host key as `ssh-ed25519 AAAA...`."""
    keyscan = shutil.which("ssh-keyscan")
    if keyscan is None:
        raise HostKeyError("ssh-keyscan is not installed on this worker (openssh-client)")
    try:
        result = subprocess.run(  # noqa: S603 - fixed program, no shell
            [keyscan, "-p", str(port), "-t", "ed25519", "-T", "10", address],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise HostKeyError(
            f"ssh-keyscan {address}:{port} took longer than {timeout:.0f}s"
        ) from None
    for line in result.stdout.splitlines():
        fields = line.split()
        if len(fields) >= 3 and fields[1] == "ssh-ed25519":
            return f"{fields[1]} {fields[2]}"
    raise HostKeyError(f"{address}:{port} offered no ed25519 host key")


def host_key(
    address: str, port: int, timeout: float, stop: Callable[[], bool] | None = None
) -> str:
    """Wait for SSH on the machine, then return its host key."""
    wait_for_port(address, port, timeout, stop=stop)
    return scan(address, port)
