"""The operator's dashboard, configuration form (with inline validation), history and plan."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext
from pydantic import ValidationError
from werkzeug.wrappers import Response

from fedipanel.audit.log import Action
from fedipanel.configurations import versions
from fedipanel.core.configuration import Configuration
from fedipanel.core.registry import SERVICE_LABELS, SERVICES
from fedipanel.deployments.lifecycle import active_deployment, listed_deployments
from fedipanel.deployments.models import ACTIVE
from fedipanel.deployments.pending import Pending, pending_changes
from fedipanel.deployments.systems import MachineBackend, machine_backend, simulated_systems
from fedipanel.machines.quota import plan_summary
from fedipanel.maintenance.windows import window_for
from fedipanel.planning.plans import PlanError, plan_for
from fedipanel.rollouts.views import updates_for
from fedipanel.services.checks import service_status
from fedipanel.services.passwords import generations
from fedipanel.settings import effective
from fedipanel.timeutil import utcnow
from fedipanel.usage import report
from fedipanel.web.access import current_account, operator_required
from fedipanel.web.audit import audit
from fedipanel.web.configuration_form import EMPTY, field_errors, form_to_document
from fedipanel.web.notices import unread_notices
from fedipanel.web.page_cache import cached_page

bp = Blueprint("configurations", __name__)


@bp.route("/dashboard")
@operator_required
@cached_page
def dashboard() -> str:
    operator = current_account()
    pending = pending_changes(operator.id)
    recent = listed_deployments(operator.id, limit=5)
    maintenance = window_for(operator.id)
    deployed = _deployed_configuration(pending)
    return render_template(
        "configurations/dashboard.html",
        current=pending.saved,
        pending=pending,
        deployed=deployed,
        differences=(
            versions.diff(pending.deployed.data if pending.deployed else None, pending.saved.data)
            if pending.saved is not None and not pending.up_to_date
            else []
        ),
        labels=SERVICE_LABELS,
        deployments=recent,
        # Only one deployment can be active, and no newer one can start while it is.
        active=recent[0] if recent and recent[0].status in ACTIVE else None,
        services=SERVICES,
        usage=report.this_month(operator.id, utcnow()),
        mail_relay=_relay_name(),
        maintenance=maintenance,
        updates=updates_for(operator.id, utcnow(), maintenance),
        maintenance_opening=maintenance.next(utcnow()),
        # What runs: the services of the last successful deployment, never the saved ones.
        service_checks=service_status(operator.id, deployed) if deployed else [],
        has_password=set(generations(operator.id)),
        notices=unread_notices(operator.id),
    )


def _deployed_configuration(pending: Pending) -> Configuration | None:
    if pending.deployed is None:
        return None
    try:
        return Configuration.model_validate(pending.deployed.data)
    except ValidationError:
        # Stored under an older schema: the page then lists no deployed service.
        return None


def _relay_name() -> str | None:
    relay = effective.current().mail
    return f"{relay.host}:{relay.port}" if relay else None


def _render_form(document: dict[str, Any], errors: dict[str, str], status: int = 200) -> Any:
    operator = current_account()
    current = versions.current_version(operator.id)
    page = render_template(
        "configurations/edit.html",
        doc=document,
        errors=errors,
        current=current,
        services=SERVICES,
    )
    return page, status


@bp.route("/configuration")
@operator_required
def edit() -> Any:
    current = versions.current_version(current_account().id)
    return _render_form(current.data if current else EMPTY, {})


@bp.route("/configuration", methods=["POST"])
@operator_required
def save() -> Any:
    operator = current_account()
    document = form_to_document(request.form)
    try:
        row, changed = versions.save_configuration(
            operator, document, source="web", author=operator
        )
    except ValidationError as exc:
        flash(gettext("Nothing was saved: please correct the fields marked below."), "error")
        return _render_form(document, field_errors(exc), 422)
    if changed:
        audit(Action.CONFIGURATION_SAVED, version=row.version, source="web")
        flash(
            gettext(
                "Saved as version %(version)s. Review the plan, then deploy.", version=row.version
            )
        )
    else:
        flash(gettext("No changes: version %(version)s is still current.", version=row.version))
    return redirect(url_for("configurations.plan"))


@bp.route("/configuration/validate", methods=["POST"])
@operator_required
def validate() -> str:
    """Validate the form as the operator types; answer every field's message out of band."""
    document = form_to_document(request.form)
    errors: dict[str, str] = {}
    try:
        Configuration.model_validate(document)
    except ValidationError as exc:
        # Fields not filled in yet are reported on save, not while the operator is typing.
        errors = {
            key: message
            for key, message in field_errors(exc).items()
            if key not in request.form or request.form[key].strip()
        }
    return render_template("configurations/_errors.html", errors=errors, services=SERVICES)


@bp.route("/configuration/history")
@operator_required
def history() -> str:
    rows = versions.history(current_account().id)
    changes = []
    for index, row in enumerate(rows):
        previous = rows[index + 1].data if index + 1 < len(rows) else None
        changes.append((row, versions.diff(previous, row.data)))
    return render_template("configurations/history.html", changes=changes)


@bp.route("/plan")
@operator_required
def plan() -> Response | tuple[str, int]:
    return plan_page()


def plan_page(
    confirm_error: str = "", confirm_value: str = "", status: int = 200
) -> Response | tuple[str, int]:
    """Render the plan of the current configuration, with Deploy (and its confirmation)."""
    operator = current_account()
    settings = effective.current()
    try:
        planned = plan_for(operator, settings)
    except PlanError as exc:
        return render_template(
            "error.html", code=422, title=gettext("Cannot plan"), message=str(exc)
        ), 200
    if planned is None:
        flash(gettext("Save a configuration first; the plan shows what deploying it would do."))
        return redirect(url_for("configurations.edit"))
    page = render_template(
        "configurations/plan.html",
        planned=planned,
        active=active_deployment(operator.id),
        simulated=simulated_systems(settings),
        machines=plan_summary(operator.id, planned.plan),
        pool_machines=machine_backend(settings) == MachineBackend.POOL,
        deletions=planned.plan.deletions(),
        confirm_error=confirm_error,
        confirm_value=confirm_value,
        fates=[{**entry, "label": _label(entry["service"])} for entry in planned.plan.services()],
    )
    return page, status


def _label(service: str) -> str:
    return next((s.label for s in SERVICES if s.name == service), service)
