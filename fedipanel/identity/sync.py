"""The account sync: directory users -> accounts on each service, by commands over SSH.

Each run is a `DirectorySync` row, queued first and then run by `jobs.identity.run_sync`. It
reads the directory, compares it with the accounts the panel manages on each deployed service
that keeps its own accounts (`account_sync`), and runs each service's own tool on its machine
with the operator's deploy key (`ssh_command`). An account's record changes only when its
command succeeded, so a failed command is tried again by the next run. A simulated machine
gets nothing: the run says "simulated" and records no account.
"""

from __future__ import annotations

import logging
import shlex
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from fedipanel.core.account_sync import Account, Step, after, sync_steps
from fedipanel.core.directory import API_SYNCED_SERVICES, SYNCED_SERVICES
from fedipanel.db import db
from fedipanel.identity.models import DirectorySettings, DirectorySync, SyncedAccount
from fedipanel.identity.peertube_sync import PasswordOf, sync_peertube
from fedipanel.identity.settings import saved_connection, settings_row
from fedipanel.jobqueue import get_queue
from fedipanel.keys.deploy_keys import deploy_key, private_key_pem
from fedipanel.providers import ldap, ssh_command
from fedipanel.resources.models import RecordedResource
from fedipanel.settings import effective
from fedipanel.timeutil import utcnow

log = logging.getLogger(__name__)
SYNC_JOB = "jobs.identity.run_sync"
ACTIVE = ("queued", "running")
LONGEST_CHECK = 300.0


class SyncRefused(Exception):
    """The sync cannot start (no directory saved)."""


def queue_sync(operator_id: int, trigger: str) -> DirectorySync:
    """Record a sync run and queue it (one waiting run per operator is enough)."""
    if settings_row(operator_id) is None:
        raise SyncRefused("save the directory first")
    waiting = db.session.scalar(
        select(DirectorySync).where(
            DirectorySync.operator_id == operator_id, DirectorySync.status == "queued"
        )
    )
    if waiting is not None:
        return waiting
    row = DirectorySync(operator_id=operator_id, trigger=trigger, status="queued")
    db.session.add(row)
    db.session.commit()
    get_queue().enqueue(SYNC_JOB, row.id)
    return row


def last_syncs(operator_id: int, limit: int = 5) -> list[DirectorySync]:
    """Return the operator's latest sync runs, newest first."""
    return list(
        db.session.scalars(
            select(DirectorySync)
            .where(DirectorySync.operator_id == operator_id)
            .order_by(DirectorySync.id.desc())
            .limit(limit)
        )
    )


def sync_json(row: DirectorySync) -> dict[str, Any]:
    """Return a sync run for the API."""
    return {
        "id": row.id,
        "trigger": row.trigger,
        "status": row.status,
        "simulated": row.simulated,
        "queuedAt": row.queued_at.isoformat() + "Z",
        "finishedAt": row.finished_at.isoformat() + "Z" if row.finished_at else None,
        "changes": list(row.changes or []),
        "errors": list(row.errors or []),
    }


def _machines(operator_id: int) -> dict[str, RecordedResource]:
    rows = db.session.scalars(
        select(RecordedResource).where(
            RecordedResource.operator_id == operator_id, RecordedResource.kind == "machine"
        )
    )
    return {str((row.spec or {}).get("service") or row.name): row for row in rows}


def _known(operator_id: int, service: str) -> dict[str, SyncedAccount]:
    rows = db.session.scalars(
        select(SyncedAccount).where(
            SyncedAccount.operator_id == operator_id, SyncedAccount.service == service
        )
    )
    return {row.username: row for row in rows}


def _no_password(operator_id: int, service: str) -> str | None:
    return None


def run_sync(sync_id: int, password_of: PasswordOf = _no_password) -> DirectorySync | None:
    """Run one queued sync and record what it changed and what failed.

    `password_of` gives a service's administrator password, for services synced by their API.
    """
    row = db.session.get(DirectorySync, sync_id)
    if row is None or row.status != "queued":
        return row
    row.status = "running"
    db.session.commit()
    changes: list[str] = []
    errors: list[str] = []
    try:
        row.simulated = _sync(row.operator_id, password_of, changes, errors)
    finally:
        row.changes, row.errors = changes, errors
        row.status = "failed" if errors else "succeeded"
        row.finished_at = utcnow()
        db.session.commit()
    return row


def _sync(operator_id: int, password_of: PasswordOf, changes: list[str], errors: list[str]) -> bool:
    """Sync every deployed service; return whether it was only simulated."""
    connection = saved_connection(operator_id)
    if connection is None:
        errors.append("no directory is saved")
        return False
    try:
        listing = ldap.list_users(
            connection.directory, connection.password, connection.ca_certificate
        )
    except ldap.DirectoryError as exc:
        errors.append(f"directory: {exc.message}")
        return False
    changes.extend(
        f"directory: skipped {dn} (no usable username or email)" for dn in listing.skipped
    )
    machines = _machines(operator_id)
    services = [s for s in SYNCED_SERVICES if s in machines]
    by_api = [s for s in API_SYNCED_SERVICES if s in machines]
    if not services and not by_api:
        changes.append("no deployed service keeps accounts of its own: nothing to sync")
        return False
    simulated = all(machines[s].simulated for s in services + by_api)
    settings = effective.current()
    for service in services:
        machine = machines[service]
        known = _known(operator_id, service)
        accounts = {n: Account(a.username, a.email, a.admin, a.suspended) for n, a in known.items()}
        steps = sync_steps(service, listing.users, accounts)
        if machine.simulated:
            changes.extend(f"[simulated] {step.describe()}" for step in steps)
            if not steps:
                changes.append(f"[simulated] {service}: nothing to change")
            continue
        _apply(operator_id, service, machine, steps, listing, known, settings, changes, errors)
    if "peertube" in by_api:
        sync_peertube(
            operator_id, machines["peertube"], listing.users, password_of, changes, errors
        )
    return simulated


def _apply(
    operator_id: int,
    service: str,
    machine: RecordedResource,
    steps: list[Step],
    listing: ldap.Listing,
    known: dict[str, SyncedAccount],
    settings: effective.Settings,
    changes: list[str],
    errors: list[str],
) -> None:
    facts = machine.facts or {}
    if not facts.get("address") or not facts.get("host_key"):
        errors.append(f"{service}: no address or SSH host key is recorded for its machine")
        return
    users = {user.username: user for user in listing.users}
    pem = private_key_pem(deploy_key(operator_id))
    prefix = ""
    if settings.account_tools_path:
        prefix = f'PATH={shlex.quote(settings.account_tools_path)}:"$PATH" ; export PATH ; '
    for step in steps:
        try:
            ran = ssh_command.run(
                str(facts["address"]),
                prefix + step.command,
                private_key_pem=pem,
                host_public_key=str(facts["host_key"]),
                port=settings.vm_ssh_port,
                timeout=120.0,
            )
        except ssh_command.SshError as exc:
            errors.append(f"{service}: {exc}")
            return  # the machine is unreachable: the other steps would fail the same way
        if ran.returncode != 0:
            errors.append(f"{step.describe()} failed: {ran.reason()}")
            continue
        record = known.get(step.username)
        current = (
            Account(record.username, record.email, record.admin, record.suspended)
            if record
            else None
        )
        done = after(step, users.get(step.username), current)
        if record is None:
            record = SyncedAccount(operator_id=operator_id, service=service, username=done.username)
            db.session.add(record)
            known[done.username] = record
        record.email, record.admin, record.suspended = done.email, done.admin, done.suspended
        db.session.commit()
        changes.append(step.describe())
    if not steps:
        changes.append(f"{service}: nothing to change")


def operators_due(now: datetime, interval: timedelta) -> list[int]:
    """Return the operators with a directory whose last sync was queued `interval` ago or never."""
    operators = set(db.session.scalars(select(DirectorySettings.operator_id)))
    last = dict(
        db.session.execute(
            select(DirectorySync.operator_id, func.max(DirectorySync.queued_at)).group_by(
                DirectorySync.operator_id
            )
        ).all()
    )
    return sorted(o for o in operators if o not in last or last[o] <= now - interval)


def check_every(interval: float) -> float:
    """Return the seconds between the timers' checks for a sync interval."""
    return max(1.0, min(LONGEST_CHECK, interval))


def enqueue_when_due() -> int:
    """Queue a sync for every operator due (the timers call this); return how many."""
    interval = timedelta(seconds=effective.current().ldap_sync_interval)
    due = operators_due(utcnow(), interval)
    for operator_id in due:
        queue_sync(operator_id, "schedule")
    if due:
        log.info("directory sync queued for %d operator(s)", len(due))
    return len(due)
