"""From the directory's users to commands on each service's machine (pure).

The panel remembers each account it manages (username, email, admin, suspended) per service;
a sync compares the directory with that record and emits each service's own commands:

- Mastodon, `mastodon-tootctl` (the NixOS module's wrapper around `tootctl`), following
  mastodon/mastodon lib/mastodon/cli/accounts.rb: `accounts create USERNAME --email E --confirmed
  --approve [--role Admin]`, `accounts modify USERNAME --role Admin | --remove-role`,
  `--disable` (locks the user out), `--enable`.
- Pixelfed, `pixelfed-manage` (the NixOS module's `artisan` wrapper), following
  pixelfed/pixelfed app/Console/Commands/User/: `user:create --name --username --email
  --password --is_admin=true|false --confirm_email=1`, `user:admin USERNAME` (a toggle that asks
  for confirmation), `user:suspend USERNAME`, `user:unsuspend USERNAME` (both ask too).
"""

from __future__ import annotations

import enum
import shlex
from collections.abc import Iterable, Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class DirectoryUser:
    """One user the directory lists under the base DN with the filter."""

    username: str
    email: str
    display_name: str
    admin: bool


@dataclass(frozen=True)
class Account:
    """What the panel last made of a user on one service."""

    username: str
    email: str
    admin: bool
    suspended: bool


class Change(enum.StrEnum):
    CREATE = "create"
    PROMOTE = "promote"
    DEMOTE = "demote"
    SUSPEND = "suspend"
    UNSUSPEND = "unsuspend"


@dataclass(frozen=True)
class Step:
    """One change of one account, with the command that makes it."""

    service: str
    username: str
    change: Change
    command: str

    def describe(self) -> str:
        return f"{self.service}: {self.change} {self.username}"


def account_changes(
    users: Iterable[DirectoryUser], known: Mapping[str, Account]
) -> list[tuple[str, Change, DirectoryUser | None]]:
    """Return what must change so that the service matches the directory, in a stable order."""
    wanted = {user.username: user for user in users}
    out: list[tuple[str, Change, DirectoryUser | None]] = []
    for name in sorted(set(wanted) | set(known)):
        user, account = wanted.get(name), known.get(name)
        if user is None:
            if account is not None and not account.suspended:
                out.append((name, Change.SUSPEND, None))
            continue
        if account is None:
            out.append((name, Change.CREATE, user))
            continue
        if account.suspended:
            out.append((name, Change.UNSUSPEND, user))
        if user.admin != account.admin:
            out.append((name, Change.PROMOTE if user.admin else Change.DEMOTE, user))
    return out


def _needed(user: DirectoryUser | None) -> DirectoryUser:
    if user is None:
        raise ValueError("creating an account needs the directory's user")
    return user


def _tootctl(*args: str) -> str:
    return shlex.join(("mastodon-tootctl", "accounts", *args))


def _artisan(*args: str, confirm: bool = False) -> str:
    command = shlex.join(("pixelfed-manage", *args))
    # The command asks "Are you sure...?"; without a terminal only `yes` answers it.
    return f"yes | {command}" if confirm else command


def mastodon_command(change: Change, username: str, user: DirectoryUser | None) -> str:
    """Return the tootctl command for one change."""
    if change == Change.CREATE:
        user = _needed(user)
        role = ("--role", "Admin") if user.admin else ()
        return _tootctl(
            "create", username, "--email", user.email, "--confirmed", "--approve", *role
        )
    flags = {
        Change.PROMOTE: ("--role", "Admin"),
        Change.DEMOTE: ("--remove-role",),
        Change.SUSPEND: ("--disable",),
        Change.UNSUSPEND: ("--enable",),
    }[change]
    return _tootctl("modify", username, *flags)


def pixelfed_command(change: Change, username: str, user: DirectoryUser | None) -> str:
    """Return the artisan command for one change."""
    if change == Change.CREATE:
        user = _needed(user)
        # A password nobody knows, made on the machine: users set theirs by "forgot password".
        create = _artisan(
            "user:create",
            f"--name={user.display_name or username}",
            f"--username={username}",
            f"--email={user.email}",
            f"--is_admin={'true' if user.admin else 'false'}",
            "--confirm_email=1",
        )
        return f'{create} --password="$(head -c 24 /dev/urandom | base64)"'
    if change in (Change.PROMOTE, Change.DEMOTE):
        return _artisan("user:admin", username, confirm=True)
    verb = "user:suspend" if change == Change.SUSPEND else "user:unsuspend"
    return _artisan(verb, username, confirm=True)


COMMANDS = {"mastodon": mastodon_command, "pixelfed": pixelfed_command}


def sync_steps(
    service: str, users: Iterable[DirectoryUser], known: Mapping[str, Account]
) -> list[Step]:
    """Return the steps that bring one service in line with the directory."""
    command = COMMANDS[service]
    return [
        Step(service, name, change, command(change, name, user))
        for name, change, user in account_changes(users, known)
    ]


def after(step: Step, user: DirectoryUser | None, account: Account | None) -> Account:
    """Return the account as it is once `step` succeeded."""
    if step.change == Change.CREATE:
        user = _needed(user)
        return Account(user.username, user.email, user.admin, suspended=False)
    if account is None:
        raise ValueError(f"{step.username} has no account to change")
    if step.change == Change.SUSPEND:
        return Account(account.username, account.email, account.admin, suspended=True)
    if step.change == Change.UNSUSPEND:
        return Account(account.username, account.email, account.admin, suspended=False)
    return Account(
        account.username, account.email, step.change == Change.PROMOTE, account.suspended
    )
