"""The API tokens page: the account's tokens and, for an operator, the Webhook card."""

from __future__ import annotations

from typing import Any

from flask import make_response, render_template
from sqlalchemy import select
from werkzeug.wrappers import Response

from fedipanel.accounts.models import ApiToken
from fedipanel.db import db
from fedipanel.notifications import webhooks
from fedipanel.web.access import current_account


def render(
    *,
    new_token: str | None = None,
    webhook_secret: str | None = None,
    webhook_error: str | None = None,
    webhook_url: str | None = None,
    status: int = 200,
) -> Response:
    """Render the page; a new token or webhook secret is shown this once, never cached."""
    account = current_account()
    rows = db.session.scalars(
        select(ApiToken).where(ApiToken.user_id == account.id).order_by(ApiToken.id.desc())
    ).all()
    webhook = webhooks.webhook_of(account.id) if account.is_operator else None
    context: dict[str, Any] = {
        "tokens": rows,
        "new_token": new_token,
        "webhook": webhook,
        "webhook_secret": webhook_secret,
        "webhook_error": webhook_error,
        "webhook_url": webhook_url if webhook_url is not None else (webhook.url if webhook else ""),
    }
    response = make_response(render_template("accounts/tokens.html", **context), status)
    if new_token or webhook_secret:
        response.headers["Cache-Control"] = "no-store"
    return response
