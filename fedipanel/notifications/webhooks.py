"""Each operator's webhook: one URL and its signing secret, encrypted at rest."""

from __future__ import annotations

from typing import Any

from flask import current_app
from sqlalchemy import delete, select

from fedipanel.crypto import decrypt, encrypt
from fedipanel.db import db
from fedipanel.errors import Refused
from fedipanel.notifications.models import Webhook
from fedipanel.providers import webhook_send
from fedipanel.settings.loading import flag


def allow_http() -> bool:
    """Tell whether http:// webhooks to loopback are allowed (FEDIPANEL_WEBHOOK_ALLOW_HTTP)."""
    return flag(current_app.config["WEBHOOK_ALLOW_HTTP"])


def check_url(url: Any) -> str:
    """Return the URL, or refuse it at `url`."""
    if not isinstance(url, str):
        raise Refused("must be an https:// URL (a string)", loc=("url",))
    problem = webhook_send.url_problem(url, allow_http_loopback=allow_http())
    if problem:
        raise Refused(f"the webhook URL {problem}", loc=("url",))
    return url


def webhook_of(operator_id: int) -> Webhook | None:
    """Return the operator's webhook, if they registered one."""
    return db.session.scalar(select(Webhook).where(Webhook.operator_id == operator_id))


def set_webhook(operator_id: int, url: Any) -> tuple[Webhook, str]:
    """Register (or replace) the operator's webhook with a new secret; return it and the secret.

    The secret is returned this once; the panel keeps it only encrypted.
    """
    url = check_url(url)
    secret = webhook_send.new_secret()
    row = webhook_of(operator_id) or Webhook(operator_id=operator_id)
    row.url = url
    row.secret_encrypted = encrypt(secret)
    db.session.add(row)
    db.session.commit()
    return row, secret


def remove_webhook(operator_id: int) -> bool:
    """Remove the operator's webhook; return whether there was one."""
    removed = db.session.execute(delete(Webhook).where(Webhook.operator_id == operator_id))
    db.session.commit()
    return bool(getattr(removed, "rowcount", 0))


def signing_secret(row: Webhook) -> str:
    """Return the webhook's secret for signing a delivery."""
    return decrypt(row.secret_encrypted)
