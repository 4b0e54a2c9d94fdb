"""Copy secret files to a machine over SSH with the operator's deploy key.

One `ssh` run per machine (`ssh_command`: the OpenSSH client, without a shell on this side)
executes a short POSIX script on the machine. The files travel on standard input, base64 per
line, never on a command line. The script writes each file atomically, root-owned with mode
0400, into one fixed directory, leaves unchanged files untouched, and removes every other file
in that directory, so secrets no longer used disappear. Two deliveries to one directory take
turns (flock on a file beside it), so one never removes the other's file half-written. The
host key must be the one recorded when the machine was created (StrictHostKeyChecking=yes
against a one-line known_hosts file).
"""

from __future__ import annotations

import base64
import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field

from fedipanel.providers import ssh_command

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")

_SCRIPT = r"""set -eu
umask 077
dir=%(dir)s
mkdir -p "$dir"
chown root:root "$dir"
chmod 0700 "$dir"
exec 9>"$(dirname "$dir")/.$(basename "$dir").lock"
flock 9
keep=/
while IFS=' ' read -r name data; do
  case "$name" in ''|*/*|.*) echo "refused file name" >&2; exit 2;; esac
  tmp="$dir/.$name.new"
  printf '%%s' "$data" | base64 -d > "$tmp"
  if [ -f "$dir/$name" ] && cmp -s "$tmp" "$dir/$name" \
     && [ "$(stat -c %%a:%%u:%%g "$dir/$name")" = "400:0:0" ]; then
    rm -f "$tmp"
    echo "unchanged $name"
  else
    chown root:root "$tmp"
    chmod 0400 "$tmp"
    mv -f "$tmp" "$dir/$name"
    echo "written $name"
  fi
  keep="$keep$name/"
done
for path in "$dir"/* "$dir"/.[!.]*; do
  [ -e "$path" ] || [ -L "$path" ] || continue
  name=${path##*/}
  case "$keep" in *"/$name/"*) ;; *) rm -rf -- "$path"; echo "removed $name";; esac
done
"""


class DeliveryError(Exception):
    """The machine could not be reached or refused the files; the message says why."""


@dataclass
class Delivery:
    """What one delivery changed on the machine (file names only)."""

    written: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)


def deliver(
    host: str,
    files: Mapping[str, str],
    *,
    private_key_pem: str,
    host_public_key: str,
    port: int = 22,
    user: str = "root",
    directory: str = "/var/lib/fedipanel/keys",
    timeout: float = 60.0,
) -> Delivery:
    """Make `directory` on the machine hold exactly `files` (name -> contents)."""
    for name in files:
        if not _NAME.fullmatch(name):
            raise DeliveryError(f"refusing to deliver a file named {name!r}")
    if not directory.startswith("/") or "\n" in directory:
        raise DeliveryError(f"the secrets directory must be an absolute path, not {directory!r}")
    stdin = "".join(
        f"{name} {base64.b64encode(content.encode()).decode()}\n"
        for name, content in sorted(files.items())
    )
    script = _SCRIPT % {"dir": shlex.quote(directory.rstrip("/") or "/")}
    try:
        result = ssh_command.run(
            host,
            script,
            private_key_pem=private_key_pem,
            host_public_key=host_public_key,
            port=port,
            user=user,
            stdin=stdin,
            timeout=timeout,
        )
    except ssh_command.SshError as exc:
        raise DeliveryError(str(exc)) from None
    if result.returncode != 0:
        raise DeliveryError(f"writing secrets on {host} failed: {result.reason()}")
    delivery = Delivery()
    for line in result.stdout.splitlines():
        what, _, name = line.partition(" ")
        if what in ("written", "unchanged", "removed"):
            getattr(delivery, what).append(name)
    return delivery
