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
- PeerTube, its REST API with the administrator's token (Chocobozzz/PeerTube
  server/core/controllers/api/users/index.ts): `PUT /api/v1/users/{id}` with `{"role": 0|2}`,
  `POST /api/v1/users/{id}/block` and `/unblock` (each 204; root cannot be blocked).
"""

from __future__ import annotations

import enum
import shlex
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from fedipanel.core.directory import peertube_username


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


# PeerTube's roles (packages/models/src/users/user-role.ts): 0 administrator, 1 moderator, 2 user.
PEERTUBE_ADMIN, PEERTUBE_USER = 0, 2


@dataclass(frozen=True)
class PeerTubeAccount:
    """One PeerTube user as `GET /api/v1/users` lists it."""

    id: int
    username: str
    role: int
    blocked: bool
    plugin_auth: str | None


@dataclass(frozen=True)
class ApiStep:
    """One change of one PeerTube account, with the admin API request that makes it."""

    username: str
    change: Change
    method: str
    path: str
    body: dict[str, int] | None

    def describe(self) -> str:
        return f"peertube: {self.change} {self.username}"


def peertube_steps(
    users: Iterable[DirectoryUser], accounts: Iterable[PeerTubeAccount], plugin: str
) -> list[ApiStep]:
    """Return the requests that bring the plugin's PeerTube accounts in line with the directory.

    Only accounts the LDAP plugin made (`pluginAuth`) are touched: the operator's administrator
    and root are local accounts. Users who never logged in have no account yet; the plugin
    makes it at their first login. Moderators are left alone unless they should be admins.
    """
    # The plugin lowercases names and replaces other characters (main.js).
    wanted = {peertube_username(user.username): user for user in users}
    steps: list[ApiStep] = []
    for account in sorted(accounts, key=lambda a: a.username):
        if account.plugin_auth != plugin:
            continue
        user = wanted.get(account.username)
        base = f"/api/v1/users/{account.id}"
        if user is None:
            if not account.blocked:
                steps.append(ApiStep(account.username, Change.SUSPEND, "POST", f"{base}/block", {}))
            continue
        if account.blocked:
            steps.append(ApiStep(account.username, Change.UNSUSPEND, "POST", f"{base}/unblock", {}))
        if user.admin and account.role != PEERTUBE_ADMIN:
            body = {"role": PEERTUBE_ADMIN}
            steps.append(ApiStep(account.username, Change.PROMOTE, "PUT", base, body))
        elif not user.admin and account.role == PEERTUBE_ADMIN:
            body = {"role": PEERTUBE_USER}
            steps.append(ApiStep(account.username, Change.DEMOTE, "PUT", base, body))
    return steps
