"""Delivering a stored notice: its email through the relay and its signed webhook.

Each try records on the notice how each channel fared; a channel that worked is not tried
again, so a retry never mails or posts the same notice twice.
"""

from __future__ import annotations

import json
import logging

from flask import current_app

from fedipanel.accounts.models import User
from fedipanel.db import db
from fedipanel.notifications import webhooks
from fedipanel.notifications.models import Notice
from fedipanel.providers import smtp_send, webhook_send
from fedipanel.providers.mail import MailSettings
from fedipanel.settings import effective
from fedipanel.timeutil import iso

log = logging.getLogger(__name__)
SENT = "sent"
FAILED = "failed"
NOT_CONFIGURED = "not configured"
PENDING = ("queued", FAILED)
FOOTER = "\n\n-- \nThis notice is also on your FediPanel dashboard."


def sender_address(relay: MailSettings) -> str:
    """Return the From address: FEDIPANEL_NOTICE_FROM, else panel@ the sender domain or relay."""
    configured = current_app.config.get("NOTICE_FROM")
    return str(configured) if configured else f"panel@{relay.from_domain or relay.host}"


def deliver(notice_id: int) -> bool:
    """Try each channel of the notice not yet done; return whether none is left to retry."""
    notice = db.session.get(Notice, notice_id)
    if notice is None:  # gone with its account
        return True
    notice.attempts += 1
    if notice.email_status in PENDING:
        notice.email_status, notice.email_detail = _email(notice)
    if notice.webhook_status in PENDING:
        notice.webhook_status, notice.webhook_detail = _webhook(notice)
    db.session.commit()
    for channel, status, detail in (
        ("email", notice.email_status, notice.email_detail),
        ("webhook", notice.webhook_status, notice.webhook_detail),
    ):
        if status == FAILED:
            log.warning(
                "notice %s: %s try %d failed: %s", notice.id, channel, notice.attempts, detail
            )
    return FAILED not in (notice.email_status, notice.webhook_status)


def _email(notice: Notice) -> tuple[str, str | None]:
    settings = effective.current()
    relay = settings.mail
    if relay is None:
        return NOT_CONFIGURED, settings.problems.get(
            "mail", "no SMTP relay is configured (FEDIPANEL_SMTP_HOST)"
        )
    account = db.session.get(User, notice.operator_id)
    if account is None:
        return FAILED, "the account no longer exists"
    mail = smtp_send.message(
        sender=sender_address(relay),
        to=account.email,
        subject=notice.title,
        text=notice.text + FOOTER,
    )
    target = smtp_send.Relay(relay.host, relay.port, relay.user, relay.password)
    try:
        smtp_send.send(target, mail)
    except smtp_send.SendError as exc:
        return FAILED, str(exc)
    return SENT, f"sent to {account.email} through {relay.host}"


def body(notice: Notice) -> str:
    """Return the webhook's JSON body (Standard Webhooks' type, timestamp and data)."""
    return json.dumps(
        {
            "type": notice.kind,
            "timestamp": iso(notice.created_at),
            "data": {
                "id": notice.id,
                "title": notice.title,
                "text": notice.text,
                "payload": notice.payload,
            },
        },
        separators=(",", ":"),
    )


def _webhook(notice: Notice) -> tuple[str, str | None]:
    row = webhooks.webhook_of(notice.operator_id)
    if row is None:
        return "none", "no webhook registered"
    try:
        status = webhook_send.deliver(
            row.url,
            webhooks.signing_secret(row),
            msg_id=f"msg_notice_{notice.id}",
            body=body(notice),
            timeout=float(current_app.config["WEBHOOK_TIMEOUT"]),
            public_only=not webhooks.allow_http(),
        )
    except (webhook_send.DeliveryError, ValueError) as exc:
        return FAILED, str(exc)
    return SENT, f"{row.url} answered {status}"
