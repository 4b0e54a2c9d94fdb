"""Wipe a pre-deployed VM over SSH before it goes back to the provider's pool.

The command (FEDIPANEL_WIPE_COMMAND, default `fedipanel-wipe`, which FediPanel's NixOS module
installs on every machine) stops the services, removes their databases, state directories and
the panel's secrets, prints `stopped <unit>` and `removed <path>` for what it did, and ends with
the line `fedipanel-wipe: done`. A wipe counts only with exit status 0 and that last line: a
command that exits 0 without it (a different program, a truncated run) is a failure too.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field

from fedipanel.providers import ssh_command

DONE = "fedipanel-wipe: done"


class WipeError(Exception):
    """The VM could not be reached or the wipe did not finish; the message says why."""


@dataclass
class Wiped:
    """What the wipe stopped and removed on the VM."""

    stopped: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)


def wipe(
    host: str,
    *,
    private_key_pem: str,
    host_public_key: str,
    command: str = "fedipanel-wipe",
    port: int = 22,
    user: str = "root",
    timeout: float = 600.0,
) -> Wiped:
    """Run the wipe command on the VM and check that it finished."""
    try:
        argv = shlex.split(command)
    except ValueError as exc:
        raise WipeError(f"the wipe command {command!r} cannot be parsed: {exc}") from None
    if not argv:
        raise WipeError("no wipe command is set (FEDIPANEL_WIPE_COMMAND)")
    try:
        ran = ssh_command.run(
            host,
            shlex.join(argv),
            private_key_pem=private_key_pem,
            host_public_key=host_public_key,
            port=port,
            user=user,
            timeout=timeout,
        )
    except ssh_command.SshError as exc:
        raise WipeError(str(exc)) from None
    lines = [line.strip() for line in ran.stdout.splitlines() if line.strip()]
    program = argv[0].rsplit("/", 1)[-1]
    if ran.returncode != 0:
        reason = ran.stderr.strip().splitlines()[-1:] or lines[-1:] or ["no output"]
        raise WipeError(f"{program} failed on {host} (exit status {ran.returncode}): {reason[0]}")
    if not lines or lines[-1] != DONE:
        raise WipeError(
            f"{program} on {host} exited without confirming the wipe (no {DONE!r} line)"
        )
    wiped = Wiped()
    for line in lines:
        what, _, name = line.partition(" ")
        if what in ("stopped", "removed") and name:
            getattr(wiped, what).append(name)
    return wiped
