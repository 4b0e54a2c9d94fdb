"""Telling accounts things: store a notice, queue its delivery, list and mark notices read."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import select, update

from fedipanel.accounts.models import Role, User
from fedipanel.db import db
from fedipanel.errors import NotFound
from fedipanel.jobqueue import get_queue
from fedipanel.notifications.models import Notice
from fedipanel.timeutil import iso, utcnow

log = logging.getLogger(__name__)
DELIVERY_JOB = "jobs.notify.deliver_notice"
QUEUED = "queued"
NO_CHANNEL = "none"


def notify(
    operator_id: int, *, kind: str, title: str, text: str, payload: dict[str, Any]
) -> Notice:
    """Store a notice for the operator and queue its email and webhook (never raises for them)."""
    if db.session.get(User, operator_id) is None:
        raise NotFound("no such operator")
    notice = Notice(
        operator_id=operator_id,
        kind=kind,
        title=title,
        text=text,
        payload=dict(payload),
        email_status=QUEUED,
        webhook_status=QUEUED,
    )
    db.session.add(notice)
    db.session.commit()
    _enqueue(notice)
    return notice


def notify_many(notices: list[tuple[int, str, str, str, dict[str, Any]]]) -> list[Notice]:
    """Store many operators' notices at once, (operator id, kind, title, text, payload) each,
    then queue their deliveries: one commit for all (a rollout tells thousands at once)."""
    rows = [
        Notice(
            operator_id=operator_id,
            kind=kind,
            title=title,
            text=text,
            payload=dict(payload),
            email_status=QUEUED,
            webhook_status=QUEUED,
        )
        for operator_id, kind, title, text, payload in notices
    ]
    db.session.add_all(rows)
    db.session.flush()
    ids = [row.id for row in rows]  # read before the commit expires them: no query per row
    db.session.commit()
    failed = []
    try:
        get_queue().enqueue_many(DELIVERY_JOB, [(notice_id,) for notice_id in ids])
    except Exception as exc:  # stored; whoever told them must not fail for this
        failed = ids
        log.warning("%d notices: delivery not queued: %s", len(ids), type(exc).__name__)
    if failed:
        detail = "not queued: the job queue is unreachable"
        db.session.execute(
            update(Notice)
            .where(Notice.id.in_(failed))
            .values(
                email_status="failed",
                email_detail=detail,
                webhook_status="failed",
                webhook_detail=detail,
            )
        )
        db.session.commit()
    return rows


def notify_provider(*, kind: str, title: str, text: str, payload: dict[str, Any]) -> list[Notice]:
    """Email every provider account the notice (no webhook); return the notices stored."""
    providers = db.session.scalars(
        select(User).where(User.role == Role.PROVIDER, User.disabled_at.is_(None))
    ).all()
    notices = [
        Notice(
            operator_id=provider.id,
            kind=kind,
            title=title,
            text=text,
            payload=dict(payload),
            email_status=QUEUED,
            webhook_status=NO_CHANNEL,
        )
        for provider in providers
    ]
    db.session.add_all(notices)
    db.session.commit()
    for notice in notices:
        _enqueue(notice)
    return notices


def _enqueue(notice: Notice) -> None:
    """Queue the delivery; a queue that cannot take it is recorded on the notice, not raised."""
    try:
        get_queue().enqueue(DELIVERY_JOB, notice.id)
    except Exception as exc:  # the notice is stored; whoever told it must not fail for this
        log.warning("notice %s: delivery not queued: %s", notice.id, type(exc).__name__)
        detail = f"not queued ({type(exc).__name__}): the job queue is unreachable"
        if notice.email_status == QUEUED:
            notice.email_status, notice.email_detail = "failed", detail
        if notice.webhook_status == QUEUED:
            notice.webhook_status, notice.webhook_detail = "failed", detail
        db.session.commit()


def notices_of(operator_id: int, *, unread_only: bool = False, limit: int = 100) -> list[Notice]:
    """Return the operator's notices, newest first."""
    query = select(Notice).where(Notice.operator_id == operator_id)
    if unread_only:
        query = query.where(Notice.read_at.is_(None))
    return list(
        db.session.scalars(query.order_by(Notice.created_at.desc(), Notice.id.desc()).limit(limit))
    )


def mark_read(operator_id: int, notice_id: int) -> Notice:
    """Mark one of the operator's notices read; another account's is not found."""
    notice = db.session.get(Notice, notice_id)
    if notice is None or notice.operator_id != operator_id:
        raise NotFound("no such notice", loc=("notice",))
    if notice.read_at is None:
        notice.read_at = utcnow()
        db.session.commit()
    return notice


def as_json(notice: Notice) -> dict[str, Any]:
    """Return a notice as the API shows it."""
    return {
        "id": notice.id,
        "kind": notice.kind,
        "title": notice.title,
        "text": notice.text,
        "payload": notice.payload,
        "createdAt": iso(notice.created_at),
        "read": notice.read_at is not None,
    }
