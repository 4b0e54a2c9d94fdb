"""Apply the administrator account on a machine: run `fedipanel-admin <service>` over SSH.

The NixOS module installs that command (nix/modules/fedipanel-admin.nix); it (re)starts the
service's oneshot unit, which creates or updates the account with the service's own tools from
the password file the panel delivered, and prints what it did (never the password).
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass

from fedipanel.providers import ssh_command


class AdminError(Exception):
    """The account could not be applied; the message says why."""


@dataclass(frozen=True)
class Applied:
    """What the machine printed."""

    lines: list[str]


def apply_admin(
    host: str,
    service: str,
    *,
    command: str,
    private_key_pem: str,
    host_public_key: str,
    port: int,
    user: str,
    timeout: float,
) -> Applied:
    """Run the admin command for one service on its machine."""
    try:
        ran = ssh_command.run(
            host,
            f"{shlex.quote(command)} {shlex.quote(service)}",
            private_key_pem=private_key_pem,
            host_public_key=host_public_key,
            port=port,
            user=user,
            timeout=timeout,
        )
    except ssh_command.SshError as exc:
        raise AdminError(str(exc)) from None
    lines = [line for line in (ran.stdout + ran.stderr).splitlines() if line.strip()]
    if ran.returncode != 0:
        raise AdminError(f"{command} {service} failed: {ran.reason()}")
    return Applied(lines)
