"""Deployment pages: start one, watch it live, read its log."""

from __future__ import annotations

from typing import Any

from flask import Response, flash, make_response, redirect, render_template, url_for

from fedipanel.accounts.access import current_account, operator_required
from fedipanel.deployments import bp
from fedipanel.deployments.service import (
    DeploymentRefused,
    deployment_for,
    deployments_of,
    full_log,
    log_html,
    log_tail,
    start_deployment,
)
from fedipanel.htmx import is_htmx, render_page_or_block

# htmx stops polling when a response has this status.
STOP_POLLING = 286


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
    try:
        deployment = start_deployment(operator, requested_by=operator)
    except DeploymentRefused as exc:
        flash(exc.message, "error")
        return redirect(url_for("configurations.plan"))
    return redirect(url_for("deployments.show", deployment_id=deployment.id))


@bp.route("/deployments/<int:deployment_id>")
@operator_required
def show(deployment_id: int) -> Any:
    deployment = deployment_for(current_account(), deployment_id)
    body = render_page_or_block(
        "deployments/show.html",
        "progress",
        deployment=deployment,
        log=log_html(log_tail(deployment.id)),
    )
    status = STOP_POLLING if is_htmx() and deployment.is_finished else 200
    return make_response(body, status)


@bp.route("/deployments/<int:deployment_id>/log.txt")
@operator_required
def log(deployment_id: int) -> Response:
    deployment = deployment_for(current_account(), deployment_id)
    text = "\n".join(full_log(deployment.id)) + "\n"
    response = make_response(text)
    response.mimetype = "text/plain"
    return response
