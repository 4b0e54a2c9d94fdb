"""Deleting an account: the operator's own Account page, the provider's page, and the progress.

The operator's session ends when their account is disabled for deletion; the browser that
started the deletion may still watch it (the session remembers its id).
"""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    abort,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext
from flask_login import current_user, login_required, login_user, logout_user
from werkzeug.wrappers import Response

from fedipanel.accounts import users
from fedipanel.accounts.models import User
from fedipanel.audit.log import Action
from fedipanel.db import db
from fedipanel.deployments.deletions import confirmation_word, deletion_view, start_deletion
from fedipanel.errors import PanelError
from fedipanel.settings import effective
from fedipanel.web.access import current_account, operator_required, provider_required
from fedipanel.web.audit import audit
from fedipanel.web.deployments import STOP_POLLING, log_html
from fedipanel.web.htmx import is_htmx, render_page_or_block
from fedipanel.web.i18n import translated
from fedipanel.web.preferences import preference_form, save_from_form

bp = Blueprint("deletions", __name__)
_WATCHING = "watching_deletion"


def account_page(errors: dict[str, str] | None = None, **preferences: Any) -> str:
    """The Account page; `errors` by field ("current", "new", "repeat" change the password).

    Every user changes their password and chooses a language and time zone here; operators
    also delete their account here.
    """
    user = current_account()
    return render_template(
        "deletions/account.html",
        operator=user,
        word=confirmation_word(user) if user.is_operator else None,
        errors=translated(errors or {}),
        **preference_form(user, **preferences),
    )


@bp.route("/account")
@login_required
def account() -> str:
    return account_page()


@bp.route("/account/password", methods=["POST"])
@login_required
def change_password() -> Any:
    """Change one's own password; every other session of the account ends."""
    user = current_account()
    problems = users.change_password(
        user,
        request.form.get("current", ""),
        request.form.get("new", ""),
        request.form.get("repeat", ""),
    )
    if problems:
        return account_page(errors=problems), 422
    audit(Action.PASSWORD_CHANGED, via="account page")
    # The session version changed: this browser logs in again with it, the others are out.
    session.clear()
    login_user(user)
    flash(gettext("Your password is changed. Every other session of your account has ended."))
    return redirect(url_for("deletions.account"))


@bp.route("/account/preferences", methods=["POST"])
@login_required
def save_preferences() -> Any:
    """Save one's own language and time zone; empty fields follow the browser."""
    errors, values = save_from_form(current_account(), request.form)
    if errors:
        return account_page(errors=errors, values=values), 422
    flash(gettext("Your language and time zone are saved."))
    return redirect(url_for("deletions.account"))


@bp.route("/account/delete", methods=["POST"])
@operator_required
def delete_own_account() -> Any:
    operator = current_account()
    word = confirmation_word(operator)
    errors: dict[str, str] = {}
    if not users.check_password(operator, request.form.get("password", "")):
        errors["password"] = gettext("This is not your password.")
    confirm = request.form.get("confirm", "")
    if confirm.strip().lower() != word:
        errors["confirm"] = gettext("Type %(word)s to confirm.", word=word)
    if errors:
        return account_page(errors=errors), 422
    try:
        deletion = start_deletion(operator, requested_by=operator, confirm=confirm)
    except PanelError as exc:
        return account_page(errors={"form": exc.message}), 409
    audit(Action.OPERATOR_DELETION_STARTED, operator_id=operator.id, deletion=deletion.id)
    logout_user()
    session.clear()
    session[_WATCHING] = deletion.id
    return redirect(url_for("deletions.show", deletion_id=deletion.id))


def _operator_or_404(operator_id: int) -> User:
    operator = db.session.get(User, operator_id)
    if operator is None or not operator.is_operator:
        abort(404, gettext("No such operator."))
    return operator


@bp.route("/provider/operators/<int:operator_id>/delete")
@provider_required
def confirm_delete(operator_id: int) -> str:
    operator = _operator_or_404(operator_id)
    return _confirm_page(operator, {})[0]


def _confirm_page(operator: User, errors: dict[str, str], status: int = 200) -> tuple[str, int]:
    page = render_template(
        "deletions/confirm.html",
        operator=operator,
        word=confirmation_word(operator),
        errors=errors,
        retain_days=effective.current().accounting_retention_days,
    )
    return page, status


@bp.route("/provider/operators/<int:operator_id>/delete", methods=["POST"])
@provider_required
def delete_operator(operator_id: int) -> Any:
    operator = _operator_or_404(operator_id)
    try:
        deletion = start_deletion(
            operator, requested_by=current_account(), confirm=request.form.get("confirm", "")
        )
    except PanelError as exc:
        if exc.loc == ("confirm",):
            return _confirm_page(operator, {"confirm": exc.message}, 422)
        return _confirm_page(operator, {"form": exc.message}, 409)
    audit(Action.OPERATOR_DELETION_STARTED, operator_id=operator.id, deletion=deletion.id)
    return redirect(url_for("deletions.show", deletion_id=deletion.id))


@bp.route("/deletions/<int:deletion_id>")
def show(deletion_id: int) -> Response:
    watching = session.get(_WATCHING) == deletion_id
    if not watching and not (current_user.is_authenticated and current_user.is_provider):
        if not current_user.is_authenticated:
            return redirect(url_for("accounts.login", next=request.path))
        abort(404, gettext("No such deletion."))
    try:
        deletion = deletion_view(deletion_id)
    except PanelError:
        abort(404, gettext("No such deletion."))
    body = render_page_or_block(
        "deletions/show.html", "progress", deletion=deletion, log=log_html(deletion.log)
    )
    status = STOP_POLLING if is_htmx() and deletion.is_finished else 200
    return make_response(body, status)
