"""Write, read and expire the accounting records of deleted accounts."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select

from fedipanel.accounting.models import OperatorRecord
from fedipanel.audit.models import AuditEntry
from fedipanel.db import db
from fedipanel.timeutil import utcnow


def add_record(
    *,
    operator_id: int,
    email: str,
    deployment_name: str,
    created_at: datetime,
    deletion_id: int,
    deletion: Mapping[str, Any],
    deployments: Sequence[Mapping[str, Any]],
    usage: Mapping[str, Any],
    retain_days: int,
) -> OperatorRecord:
    """Keep what the provider must keep about an account being deleted (the caller commits)."""
    now = utcnow()
    row = OperatorRecord(
        operator_id=operator_id,
        email=email,
        deployment_name=deployment_name,
        created_at=created_at,
        deleted_at=now,
        retain_until=now + timedelta(days=retain_days),
        deletion_id=deletion_id,
        deletion=dict(deletion),
        deployments=[dict(d) for d in deployments],
        usage=dict(usage),
    )
    db.session.add(row)
    return row


def record_of(operator_id: int) -> OperatorRecord | None:
    """Return the accounting record of a deleted operator."""
    return db.session.get(OperatorRecord, operator_id)


def record_of_deletion(deletion_id: int) -> OperatorRecord | None:
    """Return the accounting record a finished deletion left."""
    return db.session.scalar(
        select(OperatorRecord).where(OperatorRecord.deletion_id == deletion_id)
    )


def purge_expired(now: datetime | None = None) -> int:
    """Delete the records, and the audit entries about their accounts, past their retention."""
    moment = now or utcnow()
    expired = list(
        db.session.scalars(
            select(OperatorRecord.operator_id).where(OperatorRecord.retain_until < moment)
        )
    )
    if not expired:
        return 0
    db.session.execute(delete(AuditEntry).where(AuditEntry.operator_id.in_(expired)))
    db.session.execute(delete(OperatorRecord).where(OperatorRecord.operator_id.in_(expired)))
    db.session.commit()
    return len(expired)
