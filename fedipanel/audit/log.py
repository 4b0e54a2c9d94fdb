"""Record and read audit entries."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Select, select, update

from fedipanel.audit.models import AuditEntry
from fedipanel.db import db

# Detail keys whose values are never stored, whatever a caller passes.
_SECRET_WORDS = ("password", "secret", "token", "key")


class Action(enum.StrEnum):
    """Everything the audit log records."""

    LOGIN = "login"
    LOGIN_FAILED = "login.failed"
    LOGOUT = "logout"
    PASSWORD_CHANGED = "password.changed"
    PASSWORD_RESET = "password.reset"
    PREFERENCES_CHANGED = "preferences.changed"
    CONFIGURATION_SAVED = "configuration.saved"
    DEPLOYMENT_STARTED = "deployment.started"
    DEPLOYMENT_FINISHED = "deployment.finished"
    TOKEN_CREATED = "token.created"
    TOKEN_REVOKED = "token.revoked"
    SETTINGS_CHANGED = "settings.changed"
    QUOTA_CHANGED = "quota.changed"
    BUCKET_ASSIGNED = "bucket.assigned"
    BUCKET_UNASSIGNED = "bucket.unassigned"
    POOL_VM_ADDED = "pool_vm.added"
    POOL_VM_REMOVED = "pool_vm.removed"
    POOL_VM_CLEARED = "pool_vm.cleared"
    POOL_VM_WIPED = "pool_vm.wiped"
    POOL_VM_NEEDS_ATTENTION = "pool_vm.needs_attention"
    OPERATOR_CREATED = "operator.created"
    OPERATOR_DISABLED = "operator.disabled"
    OPERATOR_ENABLED = "operator.enabled"
    OPERATOR_DELETION_STARTED = "operator.deletion_started"
    OPERATOR_DELETED = "operator.deleted"
    MAIL_TEST_SENT = "mail.test_sent"
    MAINTENANCE_WINDOW_CHANGED = "maintenance_window.changed"
    ROLLOUT_CREATED = "rollout.created"
    ROLLOUT_SCHEDULED = "rollout.scheduled"
    ROLLOUT_CHANGED = "rollout.changed"
    ADMIN_PASSWORD_REVEALED = "admin_password.revealed"
    ADMIN_PASSWORD_REVEAL_REFUSED = "admin_password.reveal_refused"
    ADMIN_PASSWORD_ROTATED = "admin_password.rotated"
    DIRECTORY_SAVED = "directory.saved"
    DIRECTORY_SYNC_REQUESTED = "directory.sync_requested"
    WEBHOOK_SET = "webhook.set"
    WEBHOOK_REMOVED = "webhook.removed"


def _clean(details: Mapping[str, Any]) -> dict[str, Any]:
    return {
        key: "[redacted]" if any(word in key.lower() for word in _SECRET_WORDS) else value
        for key, value in details.items()
    }


def record(
    action: Action,
    *,
    actor_id: int | None = None,
    actor_email: str | None = None,
    operator_id: int | None = None,
    address: str | None = None,
    commit: bool = True,
    **details: Any,
) -> AuditEntry:
    """Append one entry; values of detail keys that name a secret are never stored."""
    entry = AuditEntry(
        action=str(action),
        actor_id=actor_id,
        actor_email=actor_email,
        operator_id=operator_id,
        address=(address or "")[:64] or None,
        details=_clean(details),
    )
    db.session.add(entry)
    if commit:
        db.session.commit()
    return entry


def strip_operator(operator_id: int) -> int:
    """Strip the entries about an account that is being deleted down to what happened when.

    What stays (action, time, the actor's id) is kept for the accounting retention; details,
    addresses and email addresses go (the caller commits).
    """
    result = db.session.execute(
        update(AuditEntry)
        .where(AuditEntry.operator_id == operator_id)
        .values(details={}, address=None, actor_email=None)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def query(
    *,
    operator_id: int | None = None,
    action: str | None = None,
    before_id: int | None = None,
) -> Select[tuple[AuditEntry]]:
    """Return the entries matching the filters, newest first."""
    statement = select(AuditEntry).order_by(AuditEntry.id.desc())
    if operator_id is not None:
        statement = statement.where(AuditEntry.operator_id == operator_id)
    if action:
        statement = statement.where(AuditEntry.action == action)
    if before_id is not None:
        statement = statement.where(AuditEntry.id < before_id)
    return statement


def entries(limit: int = 100, **filters: Any) -> list[AuditEntry]:
    """Return up to `limit` entries matching the filters of `query`, newest first."""
    return list(db.session.scalars(query(**filters).limit(limit)))


def page(limit: int, **filters: Any) -> tuple[list[AuditEntry], int | None]:
    """Return up to `limit` entries, newest first, and the `before_id` of the next page (if any)."""
    rows = entries(limit + 1, **filters)
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, rows[-1].id if more else None


def as_json(entry: AuditEntry) -> dict[str, Any]:
    """Return the API's view of an entry."""
    return {
        "id": entry.id,
        "at": _iso(entry.at),
        "actor": {"id": entry.actor_id, "email": entry.actor_email},
        "operator": entry.operator_id,
        "action": entry.action,
        "address": entry.address,
        "details": entry.details or {},
    }


def _iso(value: datetime) -> str:
    return value.isoformat() + "Z"
