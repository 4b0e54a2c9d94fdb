"""Deleting an operator's account: start it, follow it, and close the account at its end.

A deletion is a deployment row of kind `deletion`: it has the same progress, log, one-at-a-time
lock and reaper as a deployment. Its job removes everything the account owns, checks with the
systems themselves that nothing is left, then closes the account: what the provider must keep
goes into the accounting record, the audit entries about the account are stripped to what
happened when, and every other row of the account is deleted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm.exc import ObjectDeletedError

from fedipanel.accounting.records import add_record, record_of_deletion
from fedipanel.accounts.models import LoginFailure, User
from fedipanel.audit import log as audit_log
from fedipanel.audit.log import Action
from fedipanel.configurations.versions import current_configuration
from fedipanel.core.usage import Metric, Month
from fedipanel.db import db
from fedipanel.deployments.lifecycle import full_log, queue_row
from fedipanel.deployments.models import Deployment, Kind, Status
from fedipanel.deployments.reaper import reap_stale_deployments
from fedipanel.errors import NotFound, Refused
from fedipanel.timeutil import utcnow
from fedipanel.usage.models import UsageSample
from fedipanel.usage.recording import record_levels
from fedipanel.usage.report import month_usage

DELETE_JOB = "jobs.delete_account.run_account_deletion"


@dataclass(frozen=True)
class DeletionView:
    """What a deletion's page and API show, while it runs and after the account is gone."""

    id: int
    operator_id: int
    status: str
    progress: int
    phase: str
    error: str | None
    log: list[str]
    leftovers: list[str] = field(default_factory=list)

    @property
    def is_finished(self) -> bool:
        return self.status not in (Status.QUEUED, Status.RUNNING)

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "operator": self.operator_id,
            "status": self.status,
            "progress": self.progress,
            "phase": self.phase,
            "error": self.error,
            "log": self.log,
            "leftovers": self.leftovers,
        }


def confirmation_word(operator: User) -> str:
    """Return what the operator types to confirm: their domain, or their deployment name."""
    config = current_configuration(operator.id)
    return config.domain if config is not None else operator.deployment_name


def start_deletion(
    operator: User, *, requested_by: User | None, confirm: str | None = None
) -> Deployment:
    """Disable the account and queue the job that deletes it with everything it owns.

    With `confirm` (an operator deleting their own account, or anyone asked to), it must be
    the operator's domain (or deployment name, before a configuration was saved).
    """
    if not operator.is_operator:
        raise NotFound("No such operator.")
    if confirm is not None:
        expected = confirmation_word(operator)
        if confirm.strip().lower() != expected:
            raise Refused(
                f"Type {expected} to confirm that the account and everything it owns is deleted.",
                loc=("confirm",),
            )
    reap_stale_deployments()
    if operator.disabled_at is None:
        operator.disabled_at = utcnow()
    generation = db.session.scalar(
        select(func.max(Deployment.generation)).where(Deployment.operator_id == operator.id)
    )
    deletion = Deployment(
        operator_id=operator.id,
        requested_by_id=requested_by.id if requested_by else None,
        kind=Kind.DELETION,
        status=Status.QUEUED,
        generation=generation or 0,
    )
    return queue_row(deletion, DELETE_JOB)


def deletion_view(deletion_id: int) -> DeletionView:
    """Return a deletion, from its row while the account exists, else from what it left."""
    row = db.session.get(Deployment, deletion_id)
    if row is not None and row.kind == Kind.DELETION:
        try:
            return DeletionView(
                row.id,
                row.operator_id,
                row.status,
                row.progress,
                row.phase,
                row.error,
                full_log(row.id),
                list((row.plan or {}).get("leftovers", [])),
            )
        except ObjectDeletedError:
            # The job closed the account while this read its row: what it left tells the rest.
            db.session.rollback()
    record = record_of_deletion(deletion_id)
    if record is None:
        raise NotFound("No such deletion.")
    done = record.deletion
    return DeletionView(
        deletion_id,
        record.operator_id,
        Status.SUCCEEDED,
        100,
        "Account deleted",
        None,
        list(done.get("log", [])),
        list(done.get("leftovers", [])),
    )


def record_leftovers(deletion_id: int, leftovers: list[str]) -> None:
    """Keep what a deletion found still existing, for its page (on the row's plan column)."""
    row = db.session.get(Deployment, deletion_id)
    if row is not None:
        row.plan = {"changes": [], "leftovers": leftovers}
        db.session.commit()


def close_account(deletion_id: int, *, closing_lines: list[str], retain_days: int) -> None:
    """Keep the accounting record, strip the audit entries, then delete every row of the account."""
    deletion = db.session.get(Deployment, deletion_id)
    if deletion is None:
        raise NotFound("No such deletion.")
    operator = db.session.get(User, deletion.operator_id)
    if operator is None:
        raise NotFound("The account is already gone.")
    requester = db.session.get(User, deletion.requested_by_id) if deletion.requested_by_id else None
    # Read to the end before writing: on SQLite an unfinished query holds a read transaction
    # that a write on its connection cannot upgrade once another connection (the heartbeat)
    # has written ("database is locked" at once, the busy timeout not applying).
    history = db.session.scalars(
        select(Deployment).where(Deployment.operator_id == operator.id).order_by(Deployment.id)
    ).all()
    now = utcnow()
    # Everything is gone now: every level drops to 0, then each month's usage is kept.
    record_levels(operator.id, dict.fromkeys(Metric, 0), now)
    usage = {
        str(month): month_usage(operator.id, month, now).as_json()
        for month in months_between(operator.created_at, now)
    }
    add_record(
        operator_id=operator.id,
        email=operator.email,
        deployment_name=operator.deployment_name,
        created_at=operator.created_at,
        deletion_id=deletion.id,
        deletion={
            "requestedBy": requester.email if requester else None,
            "startedAt": _iso(deletion.started_at),
            "log": [*full_log(deletion.id), *closing_lines],
            "leftovers": [],
        },
        deployments=[
            {
                "id": row.id,
                "generation": row.generation,
                "kind": row.kind,
                "status": Status.SUCCEEDED if row.id == deletion.id else row.status,
                "createdAt": _iso(row.created_at),
                "finishedAt": _iso(now if row.id == deletion.id else row.finished_at),
            }
            for row in history
        ],
        usage=usage,
        retain_days=retain_days,
    )
    db.session.execute(delete(UsageSample).where(UsageSample.operator_id == operator.id))
    audit_log.strip_operator(operator.id)
    audit_log.record(
        Action.OPERATOR_DELETED,
        actor_id=requester.id if requester else None,
        operator_id=operator.id,
        commit=False,
        deletion=deletion.id,
    )
    # Failed logins are kept by email, not by account.
    db.session.execute(delete(LoginFailure).where(LoginFailure.email == operator.email))
    # The database deletes the rest with the account (ON DELETE CASCADE): tokens, the deploy
    # key, configurations, deployments with their logs and plans, resources, storage keys,
    # pre-configured bucket assignments, quota and address leases.
    db.session.delete(operator)
    db.session.commit()


def _iso(value: Any) -> str | None:
    return None if value is None else value.isoformat() + "Z"


def months_between(start: datetime, end: datetime) -> list[Month]:
    """Return every calendar month from the one `start` falls in to the one `end` falls in."""
    months, month = [], Month.of(start)
    while month <= Month.of(end):
        months.append(month)
        month = Month.of(month.end)
    return months
