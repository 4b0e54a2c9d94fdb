"""Run one command on a machine over SSH with the operator's deploy key.

The OpenSSH client runs without a shell on this side. The machine's host key must be the one
recorded for it (StrictHostKeyChecking=yes against a one-line known_hosts file), and the private
key exists only in a private temporary file while ssh runs. Anything secret travels on standard
input, never on a command line.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path


class SshError(Exception):
    """The machine could not be reached, refused the key, or did not answer in time."""


@dataclass(frozen=True)
class Ran:
    """How the remote command ended."""

    returncode: int
    stdout: str
    stderr: str

    def reason(self) -> str:
        """Return the last line it printed on standard error, else its exit status."""
        lines = self.stderr.strip().splitlines()
        return lines[-1] if lines else f"exit status {self.returncode}"


def run(
    host: str,
    remote_command: str,
    *,
    private_key_pem: str,
    host_public_key: str,
    port: int = 22,
    user: str = "root",
    stdin: str = "",
    timeout: float = 60.0,
) -> Ran:
    """Run `remote_command` (given to the remote user's shell) on the machine."""
    ssh = shutil.which("ssh")
    if ssh is None:
        raise SshError("the OpenSSH client (ssh) is not installed on this worker")
    with tempfile.TemporaryDirectory(prefix="fedipanel-ssh-") as tmp:
        key_file = Path(tmp, "id")
        key_file.touch(mode=0o600)
        key_file.write_text(private_key_pem.rstrip("\n") + "\n")
        known_hosts = Path(tmp, "known_hosts")
        key = host_public_key.strip()
        known_hosts.write_text(f"{host} {key}\n[{host}]:{port} {key}\n")
        command = [
            ssh,
            "-i",
            str(key_file),
            "-F",
            "/dev/null",
            "-o",
            "StrictHostKeyChecking=yes",
            "-o",
            f"UserKnownHostsFile={known_hosts}",
            "-o",
            "GlobalKnownHostsFile=/dev/null",
            "-o",
            "BatchMode=yes",
            "-o",
            "IdentitiesOnly=yes",
            "-o",
            "ConnectTimeout=15",
            "-o",
            "LogLevel=ERROR",
            "-p",
            str(port),
            "-l",
            user,
            host,
            "--",
            remote_command,
        ]
        try:
            result = subprocess.run(  # noqa: S603 - fixed program, arguments as a list
                command, input=stdin, capture_output=True, text=True, timeout=timeout, check=False
            )
        except subprocess.TimeoutExpired:
            raise SshError(f"ssh to {host}:{port} took longer than {timeout:.0f}s") from None
    ran = Ran(result.returncode, result.stdout, result.stderr)
    if ran.returncode == 255:  # ssh's own failure: unreachable, wrong host key, key refused
        raise SshError(f"ssh to {user}@{host}:{port} failed: {ran.reason()}")
    return ran
