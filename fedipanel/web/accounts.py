"""Login, logout, first-run set-up, password reset links and API tokens."""

from __future__ import annotations

import hmac
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext, ngettext
from flask_login import current_user, login_required, login_user, logout_user
from werkzeug.wrappers import Response

from fedipanel.accounts import password_resets, users
from fedipanel.accounts import setup as setup_codes
from fedipanel.accounts.models import ApiToken, Role
from fedipanel.accounts.operators import end_sessions
from fedipanel.audit.log import Action
from fedipanel.db import db
from fedipanel.web import confirm, tokens_page
from fedipanel.web.access import current_account
from fedipanel.web.audit import audit, audit_by
from fedipanel.web.i18n import translated

bp = Blueprint("accounts", __name__)


@bp.route("/")
def index() -> Response:
    if not current_user.is_authenticated:
        if not users.has_provider():
            return redirect(url_for("accounts.setup"))
        return redirect(url_for("accounts.login"))
    if current_user.is_provider:
        return redirect(url_for("operators.index"))
    return redirect(url_for("configurations.dashboard"))


def _safe_next(target: str | None) -> str | None:
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


@bp.route("/login", methods=["GET", "POST"])
def login() -> Response | tuple[str, int] | str:
    if request.method == "GET":
        if not users.has_provider():
            return redirect(url_for("accounts.setup"))
        return render_template("accounts/login.html", email="", error=None)

    email = request.form.get("email", "").strip()
    password = request.form.get("password", "")
    address = request.remote_addr or "unknown"
    wait = users.login_blocked_for(email, address)
    if wait:
        minutes = max(1, round(wait / 60))
        error = ngettext(
            "Too many failed attempts. Try again in about %(num)d minute.",
            "Too many failed attempts. Try again in about %(num)d minutes.",
            minutes,
        )
        return render_template("accounts/login.html", email=email, error=error), 429
    user = users.find_user(email)
    if not users.check_password(user, password) or user is None:
        users.record_login_failure(email, address)
        audit(Action.LOGIN_FAILED, operator_id=user.id if user else None, email=email[:254])
        error = gettext("Wrong email or password.")
        return render_template("accounts/login.html", email=email, error=error), 401
    if not user.is_active:
        audit(Action.LOGIN_FAILED, operator_id=user.id, email=user.email, reason="disabled")
        error = gettext("This account is disabled. Please contact your provider.")
        return render_template("accounts/login.html", email=email, error=error), 403
    users.clear_login_failures(email)
    session.clear()  # a fresh session on login: no fixation
    login_user(user)
    audit(Action.LOGIN)
    return redirect(_safe_next(request.args.get("next")) or url_for("accounts.index"))


@bp.route("/logout", methods=["POST"])
def logout() -> Response:
    if current_user.is_authenticated:
        # The cookie carries the session version: raising it makes any copy of the cookie
        # useless from anywhere. Simple and sure, at the cost of also ending the account's
        # sessions in other browsers.
        end_sessions(current_account())
        db.session.commit()
        audit(Action.LOGOUT)
    logout_user()
    session.clear()
    flash(gettext("You are logged out."))
    return redirect(url_for("accounts.login"))


@bp.route("/setup", methods=["GET", "POST"])
def setup() -> Response | tuple[str, int] | str:
    """Create the first provider account, guarded by the code `fedipanel init` printed."""
    if users.has_provider():
        return redirect(url_for("accounts.login"))
    values = {"email": request.form.get("email", ""), "code": request.values.get("code", "")}
    if request.method == "GET":
        return render_template("accounts/setup.html", values=values, errors={})
    wait = setup_codes.setup_blocked_for()
    if wait:
        errors = {
            "code": ngettext(
                "Too many wrong set-up codes. Try again in %(num)d second "
                "(at most %(tries)d tries a minute).",
                "Too many wrong set-up codes. Try again in %(num)d seconds "
                "(at most %(tries)d tries a minute).",
                wait,
                tries=setup_codes.MAX_FAILURES_PER_MINUTE,
            )
        }
        return render_template("accounts/setup.html", values=values, errors=errors), 429
    expected = setup_codes.setup_code(current_app.instance_path)
    if not hmac.compare_digest(values["code"].strip(), expected):
        setup_codes.record_setup_failure(request.remote_addr or "unknown")
        errors = {
            "code": gettext(
                "This is not the set-up code printed by `%(command)s`.",
                command="flask fedipanel init",
            )
        }
        return render_template("accounts/setup.html", values=values, errors=translated(errors)), 400
    try:
        user = users.create_user(values["email"], request.form.get("password", ""), Role.PROVIDER)
    except users.AccountError as exc:
        errors = exc.problems
        return render_template("accounts/setup.html", values=values, errors=translated(errors)), 400
    setup_codes.forget_setup_code(current_app.instance_path)
    login_user(user)
    audit(Action.OPERATOR_CREATED, role="provider", created=user.email)
    flash(gettext("Your provider account is ready. Create your first operator below."))
    return redirect(url_for("operators.index"))


@bp.route("/reset-password/<token>", methods=["GET", "POST"])
def reset_password(token: str) -> Response | tuple[str, int]:
    """Let the holder of a one-time link from the provider set a new password."""
    reset = password_resets.find(token)
    if reset is None:
        message = gettext(
            "This password reset link is not valid: it has expired (links last one hour), "
            "was used already, or a newer one replaced it. Ask your provider for a new link."
        )
        return render_template("accounts/reset_password.html", invalid=message, errors={}), 404
    if request.method == "GET":
        return render_template("accounts/reset_password.html", invalid=None, errors={}), 200
    try:
        user = password_resets.complete(
            reset, request.form.get("password", ""), request.form.get("repeat", "")
        )
    except users.AccountError as exc:
        page = render_template(
            "accounts/reset_password.html", invalid=None, errors=translated(exc.problems)
        )
        return page, 422
    audit_by(user, Action.PASSWORD_CHANGED, via="reset link")
    if current_user.is_authenticated and current_user.id == user.id:
        logout_user()
    flash(gettext("Your new password is set and every open session has ended. Log in with it."))
    return redirect(url_for("accounts.login"))


@bp.route("/account/tokens")
@login_required
def tokens() -> Response:
    return tokens_page.render()


@bp.route("/account/tokens", methods=["POST"])
@login_required
def create_token() -> Response:
    name = request.form.get("name", "")
    token = users.create_token(current_account(), name)
    audit(Action.TOKEN_CREATED, name=name.strip()[:80])
    return tokens_page.render(new_token=token)  # shown this once, never cached


def _ask_revoke(token: ApiToken, unconfirmed: bool = False) -> tuple[str, int]:
    return confirm.ask(
        title=gettext("Revoke an API token"),
        question=gettext(
            "Revoke the token '%(name)s' (%(prefix)s…)? Scripts using it get 401 "
            "from now on; a revoked token cannot be used again.",
            name=token.name,
            prefix=token.prefix,
        ),
        action=url_for("accounts.revoke_token", token_id=token.id),
        button=gettext("Revoke the token"),
        cancel=url_for("accounts.tokens"),
        unconfirmed=unconfirmed,
    )


@bp.route("/account/tokens/<int:token_id>/revoke")
@login_required
def ask_revoke_token(token_id: int) -> Response | tuple[str, int]:
    token = users.token_of(current_account(), token_id)
    if token is None:
        abort(404, gettext("That token does not exist."))
    if token.revoked_at is not None:
        flash(gettext("That token is already revoked."))
        return redirect(url_for("accounts.tokens"))
    return _ask_revoke(token)


@bp.route("/account/tokens/<int:token_id>/revoke", methods=["POST"])
@login_required
def revoke_token(token_id: int) -> Response | tuple[str, int]:
    token = users.token_of(current_account(), token_id)
    if token is None:
        flash(gettext("That token does not exist."))
        return redirect(url_for("accounts.tokens"))
    if not confirm.confirmed():
        return _ask_revoke(token, unconfirmed=True)
    users.revoke_token(current_account(), token_id)
    audit(Action.TOKEN_REVOKED, token_id=token_id)
    flash(gettext("Token revoked. Scripts using it can no longer call the API."))
    return redirect(url_for("accounts.tokens"))
