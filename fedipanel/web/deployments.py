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
from jinja2_fragments.flask import render_block
from markupsafe import Markup

from fedipanel.accounts.models import User
from fedipanel.audit.log import Action
from fedipanel.core.validators import is_digits
from fedipanel.db import db
from fedipanel.deployments.lifecycle import (
    NO_WORKER,
    any_deployment,
    deployment_for,
    full_log,
    listed_deployments,
    start_deployment,
    waiting_for_worker,
)
from fedipanel.deployments.live import (
    lines_after,
    numbered_tail,
    phase_key,
    poll_state,
    state_key,
)
from fedipanel.deployments.models import ACTIVE, Deployment, Status
from fedipanel.errors import PanelError, Refused
from fedipanel.services.checks import checks_of
from fedipanel.settings import effective
from fedipanel.storage.records import outcomes
from fedipanel.web.access import current_account, operator_required
from fedipanel.web.audit import audit
from fedipanel.web.configurations import plan_page
from fedipanel.web.htmx import is_htmx, render_page_or_block
from fedipanel.web.page_cache import cached_page, keep_out

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
@cached_page
def index() -> str:
    return render_template(
        "deployments/index.html", deployments=listed_deployments(current_account().id)
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
@cached_page
def show(deployment_id: int) -> Any:
    after = request.args.get("after", "")
    polled = is_htmx() and is_digits(after) and len(after) < 19
    if polled and _unchanged(deployment_id, int(after)):
        return Response(status=204)  # htmx leaves the page as it is
    deployment = _visible_deployment(deployment_id)
    if polled and deployment.is_active:
        return _poll(deployment, int(after))
    # The provider reads the operator's deployment; the operator's own links are left out.
    operator = (
        db.session.get(User, deployment.operator_id) if current_account().is_provider else None
    )
    if deployment.status == Status.QUEUED:
        keep_out()  # whether a worker runs is not in the database
    waiting = waiting_for_worker(deployment)
    tail = numbered_tail(deployment.id)
    finished = deployment.is_finished
    context = {
        "deployment": deployment,
        "operator": operator,
        "log": log_html(n.line for n in tail),
        "poll": _poll_values(deployment, tail[-1].seq if tail else 0, waiting),
        # What the deployment did with disabled services' data.
        "outcomes": outcomes(deployment.id),
        "checks": checks_of(deployment.operator_id, deployment.id) if finished else (),
        "no_worker": NO_WORKER if waiting else None,
    }
    response = make_response(render_page_or_block("deployments/show.html", "progress", **context))
    if is_htmx():
        # A poll that finds the deployment finished replaces the whole card, then stops.
        response.headers["HX-Retarget"] = "#progress"
        response.headers["HX-Reswap"] = "outerHTML"
        if finished:
            response.status_code = STOP_POLLING
    return response


def _unchanged(deployment_id: int, after: int) -> bool:
    """Tell whether a poll of a visible, running deployment would find nothing new.

    The poll's hot path: one small query, no deployment loaded, nothing rendered. Anything
    else (not found, not the viewer's, finished, new lines or a new status) takes the full path.
    """
    state = poll_state(deployment_id, after)
    if state is not None and state.status == Status.QUEUED:
        keep_out()  # whether a worker runs is not in the database
    viewer = current_account()
    if state is None or not (viewer.is_provider or state.operator_id == viewer.id):
        return False
    if state.status not in ACTIVE or state.newer:
        return False
    return state_key(state, waiting_for_worker(state)) == request.args.get("state")


def _poll_values(deployment: Deployment, after: int, waiting: bool) -> dict[str, str]:
    """Return what the page sends with its next poll: its last line and what it shows."""
    return {
        "after": str(after),
        "state": state_key(deployment, waiting),
        "phase": phase_key(deployment),
    }


def _poll(deployment: Deployment, after: int) -> Response:
    """Answer a running deployment's poll with only what changed since the page's last line."""
    if deployment.status == Status.QUEUED:
        keep_out()  # whether a worker runs is not in the database
    waiting = waiting_for_worker(deployment)
    lines = lines_after(deployment.id, after)
    poll = _poll_values(deployment, lines[-1].seq if lines else after, waiting)
    if not lines and poll["state"] == request.args.get("state"):
        return Response(status=204)
    body = render_block(
        "deployments/show.html",
        "poll",
        deployment=deployment,
        log=log_html(n.line for n in lines),
        poll=poll,
        announce=poll["phase"] != request.args.get("phase"),
        no_worker=NO_WORKER if waiting else None,
    )
    return make_response(body)


@bp.route("/deployments/<int:deployment_id>/log.txt")
@login_required
def log(deployment_id: int) -> Response:
    deployment = _visible_deployment(deployment_id)
    text = "\n".join(full_log(deployment.id)) + "\n"
    response = make_response(text)
    response.mimetype = "text/plain"
    return response
