"""Deployment pages: start one, watch it live, read its log (the provider reads any, read-only)."""

from __future__ import annotations

import html
from collections.abc import Iterable
from typing import Any

from flask import (
    Blueprint,
    Response,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import login_required
from markupsafe import Markup

from fedipanel.accounts.models import User
from fedipanel.audit.log import Action
from fedipanel.core.validators import is_digits
from fedipanel.db import db
from fedipanel.deployments.lifecycle import (
    NO_WORKER,
    any_deployment,
    deployment_for,
    deployments_of,
    full_log,
    log_tail,
    start_deployment,
    waiting_for_worker,
)
from fedipanel.deployments.models import Deployment
from fedipanel.errors import PanelError, Refused
from fedipanel.services.checks import checks_of
from fedipanel.settings import effective
from fedipanel.storage.records import outcomes
from fedipanel.web.access import current_account, operator_required
from fedipanel.web.audit import audit
from fedipanel.web.configurations import plan_page
from fedipanel.web.htmx import is_htmx, render_page_or_block

bp = Blueprint("deployments", __name__)

# htmx stops polling when a response has this status.
STOP_POLLING = 286


def log_html(lines: Iterable[str]) -> Markup:
    """Render log lines as escaped HTML in one pass (the progress fragment's hot path)."""
    parts = []
    for line in lines:
        css = "sim" if line.startswith("[simulated]") else "phase" if line.startswith("== ") else ""
        parts.append(f'<span class="{css}">{html.escape(line, quote=False)}</span>\n')
    return Markup("".join(parts))  # noqa: S704 - every line is escaped above


@bp.route("/deployments")
@operator_required
def index() -> str:
    return render_template(
        "deployments/index.html", deployments=deployments_of(current_account().id)
    )


@bp.route("/deployments", methods=["POST"])
@operator_required
def create() -> Any:
    operator = current_account()
    confirm = request.form.get("confirm")
    version = request.form.get("version", "")
    try:
        deployment = start_deployment(
            operator,
            effective.current(),
            requested_by=operator,
            confirm=confirm,
            version=int(version) if is_digits(version) and len(version) < 10 else None,
        )
    except PanelError as exc:
        if isinstance(exc, Refused) and exc.loc == ("confirm",):
            # Asked again on the plan page, with the message at the field.
            return plan_page(confirm_error=exc.message, confirm_value=confirm or "", status=422)
        flash(exc.message, "error")
        return redirect(url_for("configurations.plan"))
    audit(Action.DEPLOYMENT_STARTED, deployment=deployment.id)
    return redirect(url_for("deployments.show", deployment_id=deployment.id))


def _visible_deployment(deployment_id: int) -> Deployment:
    """Return the deployment if the viewer may read it: their own, or any for the provider."""
    viewer = current_account()
    if viewer.is_provider:
        return any_deployment(deployment_id)
    return deployment_for(viewer, deployment_id)


@bp.route("/deployments/<int:deployment_id>")
@login_required
def show(deployment_id: int) -> Any:
    deployment = _visible_deployment(deployment_id)
    # The provider reads the operator's deployment; the operator's own links are left out.
    operator = (
        db.session.get(User, deployment.operator_id) if current_account().is_provider else None
    )
    body = render_page_or_block(
        "deployments/show.html",
        "progress",
        deployment=deployment,
        operator=operator,
        log=log_html(log_tail(deployment.id)),
        # What the deployment did with disabled services' data.
        outcomes=outcomes(deployment.id),
        checks=checks_of(deployment.operator_id, deployment.id),
        no_worker=NO_WORKER if waiting_for_worker(deployment) else None,
    )
    status = STOP_POLLING if is_htmx() and deployment.is_finished else 200
    return make_response(body, status)


@bp.route("/deployments/<int:deployment_id>/log.txt")
@login_required
def log(deployment_id: int) -> Response:
    deployment = _visible_deployment(deployment_id)
    text = "\n".join(full_log(deployment.id)) + "\n"
    response = make_response(text)
    response.mimetype = "text/plain"
    return response
