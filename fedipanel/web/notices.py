"""Operators' notices on the dashboard, and their webhook on the API tokens page."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext
from werkzeug.wrappers import Response

from fedipanel.audit.log import Action
from fedipanel.errors import NotFound, Refused
from fedipanel.notifications import notices, webhooks
from fedipanel.notifications.models import Notice
from fedipanel.web import confirm, tokens_page
from fedipanel.web.access import current_account, operator_required
from fedipanel.web.audit import audit
from fedipanel.web.htmx import is_htmx

bp = Blueprint("notices", __name__)
UNREAD_SHOWN = 20


def unread_notices(operator_id: int) -> list[Notice]:
    """Return what the dashboard's Notices card lists."""
    return notices.notices_of(operator_id, unread_only=True, limit=UNREAD_SHOWN)


@bp.route("/notices")
@operator_required
def index() -> str:
    rows = notices.notices_of(current_account().id, limit=200)
    return render_template("notices/index.html", notices=rows)


@bp.route("/notices/<int:notice_id>/read", methods=["POST"])
@operator_required
def read(notice_id: int) -> Response | str:
    operator = current_account()
    try:
        notices.mark_read(operator.id, notice_id)
    except NotFound:
        abort(404, gettext("That notice does not exist."))
    if is_htmx():
        return render_template("notices/_card.html", notices=unread_notices(operator.id))
    back = "notices.index" if request.form.get("back") == "list" else "configurations.dashboard"
    return redirect(url_for(back))


@bp.route("/account/webhook", methods=["POST"])
@operator_required
def set_webhook() -> Response:
    url = request.form.get("url", "").strip()
    try:
        row, secret = webhooks.set_webhook(current_account().id, url)
    except Refused as exc:
        return tokens_page.render(webhook_error=exc.message, webhook_url=url, status=422)
    audit(Action.WEBHOOK_SET, url=row.url)
    return tokens_page.render(webhook_secret=secret)


def _ask_remove(unconfirmed: bool = False) -> tuple[str, int]:
    return confirm.ask(
        title=gettext("Remove the webhook"),
        question=gettext(
            "Remove the webhook? Notices are no longer POSTed to it; they stay on your "
            "dashboard and are still emailed. A new webhook gets a new secret."
        ),
        action=url_for("notices.remove_webhook"),
        button=gettext("Remove the webhook"),
        cancel=url_for("accounts.tokens"),
        unconfirmed=unconfirmed,
    )


@bp.route("/account/webhook/remove")
@operator_required
def ask_remove_webhook() -> Any:
    if webhooks.webhook_of(current_account().id) is None:
        flash(gettext("There is no webhook to remove."))
        return redirect(url_for("accounts.tokens"))
    return _ask_remove()


@bp.route("/account/webhook/remove", methods=["POST"])
@operator_required
def remove_webhook() -> Any:
    if not confirm.confirmed():
        return _ask_remove(unconfirmed=True)
    if webhooks.remove_webhook(current_account().id):
        audit(Action.WEBHOOK_REMOVED)
        flash(gettext("Webhook removed."))
    return redirect(url_for("accounts.tokens"))
