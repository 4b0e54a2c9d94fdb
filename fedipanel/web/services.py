"""The operator's services: reveal an administrator password (after the operator's own password
again) and rotate it, which deploys the new one."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, make_response, redirect, render_template, request, url_for
from flask_babel import gettext

from fedipanel.accounts.models import User
from fedipanel.db import db
from fedipanel.deployments.lifecycle import active_deployment, start_deployment
from fedipanel.deployments.models import Deployment
from fedipanel.errors import Conflict, PanelError
from fedipanel.services import passwords
from fedipanel.services.checks import service_status
from fedipanel.settings import effective
from fedipanel.web.access import current_account, operator_required
from fedipanel.web.errors import status_of
from fedipanel.web.htmx import is_htmx

bp = Blueprint("services", __name__)


def no_store(response: Any) -> Any:
    """Keep a revealed password out of every cache."""
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    return response


def rotate_and_deploy(operator: User, service: str) -> Deployment:
    """Make a new admin password for `service` and start the deployment that applies it.

    Nothing changes when the deployment cannot start (another one is running, the plan needs a
    confirmation): the old password stays the one in use.
    """
    passwords.known_service(operator.id, service)
    if active_deployment(operator.id) is not None:
        raise Conflict(
            "A deployment is running: rotate the password once it has finished.",
            loc=("deployment",),
        )
    try:
        passwords.rotate(operator, service, request.remote_addr)
        return start_deployment(operator, effective.current(), requested_by=operator)
    except PanelError:
        db.session.rollback()
        raise


def _status(service: str) -> dict[str, Any]:
    found = [s for s in service_status(current_account().id) if s["service"] == service]
    return found[0] if found else {"service": service, "label": service}


@bp.route("/services/<service>/admin-password", methods=["POST"])
@operator_required
def reveal(service: str) -> Any:
    """Show the password once, in a fragment nothing may cache."""
    operator = current_account()
    try:
        password = passwords.reveal(
            operator, service, request.form.get("password", ""), request.remote_addr
        )
    except PanelError as exc:
        page = render_template(
            "services/_reveal.html", svc=_status(service), error=exc.message, password=None
        )
        # htmx swaps only successful answers: the form with its message comes back as 200.
        return no_store(make_response(page, 200 if is_htmx() else status_of(exc)))
    page = render_template("services/_reveal.html", svc=_status(service), password=password)
    return no_store(make_response(page))


@bp.route("/services/<service>/admin-password/rotate", methods=["POST"])
@operator_required
def rotate(service: str) -> Any:
    operator = current_account()
    try:
        deployment = rotate_and_deploy(operator, service)
    except PanelError as exc:
        flash(exc.message, "error")
        return redirect(url_for("configurations.dashboard"))
    flash(
        gettext("A new administrator password for %(service)s is being deployed.", service=service)
    )
    return redirect(url_for("deployments.show", deployment_id=deployment.id))
