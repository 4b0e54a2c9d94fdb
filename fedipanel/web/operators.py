"""Provider pages: the operators, creating one, and one operator's page with its actions."""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, flash, make_response, redirect, render_template, request, url_for
from flask_babel import gettext
from werkzeug.wrappers import Response

from fedipanel.accounts import operators as accounts
from fedipanel.accounts import password_resets, users
from fedipanel.accounts.models import Role, User
from fedipanel.audit import log
from fedipanel.audit.log import Action
from fedipanel.configurations import versions
from fedipanel.core.registry import SERVICE_LABELS
from fedipanel.core.validators import is_digits
from fedipanel.deployments.lifecycle import deployments_of, latest_listed
from fedipanel.deployments.pending import pending_changes
from fedipanel.machines.quota import FIELDS, Usage, parse_quota, quota_of, set_quota, total_usage
from fedipanel.provider_settings import store
from fedipanel.provider_settings.registry import SECTIONS
from fedipanel.resources.records import machine_specs, recorded_of_kind
from fedipanel.storage.records import assigned_buckets
from fedipanel.timeutil import utcnow
from fedipanel.usage import report
from fedipanel.web.access import current_account, provider_required
from fedipanel.web.audit import audit
from fedipanel.web.audit_pages import provider_rows
from fedipanel.web.i18n import translated
from fedipanel.web.page_cache import cached_page

bp = Blueprint("operators", __name__, url_prefix="/provider")

# How much of each list the operator's page shows; the full lists are a link away.
RECENT = 20
# Operators per page of the provider's list.
PER_PAGE = 50


def _page_number() -> int:
    """Return the page asked for; anything that is not a page number is the first page."""
    asked = request.args.get("page", "")
    return int(asked) if is_digits(asked) and 0 < len(asked) < 7 and int(asked) > 0 else 1


def _render(values: dict[str, str], errors: dict[str, str], status: int = 200) -> tuple[str, int]:
    number = _page_number()
    operators, total = accounts.operators_page(number, PER_PAGE)
    pages = max(1, -(-total // PER_PAGE))
    if number > pages:  # a page past the end shows the last one
        number = pages
        operators, total = accounts.operators_page(number, PER_PAGE)
    failing = store.failing_tests()
    page = render_template(
        "operators/index.html",
        operators=operators,
        latest=latest_listed([op.id for op in operators]),
        total=total,
        page=number,
        pages=pages,
        values=values,
        errors=translated(errors),
        failing=[s for s in SECTIONS if s.name in failing],
        quota_fields=FIELDS,
    )
    return page, status


@bp.route("/operators")
@provider_required
@cached_page
def index() -> tuple[str, int]:
    return _render({}, {})


@bp.route("/operators", methods=["POST"])
@provider_required
def create() -> Response | tuple[str, int]:
    """Create an operator with an optional quota, reporting every field's problem at once."""
    keys = ("email", "slug", *(key for key, _label in FIELDS))
    # The password is never sent back: it is typed again after a refusal.
    values = {key: request.form.get(key, "").strip() for key in keys}
    password = request.form.get("password", "")
    problems = users.new_user_problems(
        values["email"], password, Role.OPERATOR, values["slug"] or None
    )
    limits, quota_problems = parse_quota(values)
    problems.update(quota_problems)
    if problems:
        flash(gettext("Nothing was saved: please correct the fields marked below."), "error")
        return _render(values, problems, 400)
    try:
        user = users.create_user(values["email"], password, Role.OPERATOR, values["slug"] or None)
    except users.AccountError as exc:  # taken meanwhile by another request
        return _render(values, exc.problems, 400)
    if any(limit is not None for limit in limits.values()):
        set_quota(user.id, Usage(**limits))
        audit(Action.QUOTA_CHANGED, operator_id=user.id, **limits)
    audit(Action.OPERATOR_CREATED, operator_id=user.id, created=user.email, slug=user.slug)
    flash(
        gettext(
            "Operator %(email)s created with deployment name '%(slug)s'. Send them the "
            "address of this panel and their password: their dashboard guides them from there.",
            email=user.email,
            slug=user.slug,
        )
    )
    return redirect(url_for("operators.index"))


def _pretty(data: dict[str, Any] | None) -> str | None:
    return None if data is None else json.dumps(data, indent=2)


def overview(operator: User) -> dict[str, Any]:
    """Return what the operator's page shows: configuration, deployments, resources, audit."""
    pending = pending_changes(operator.id)
    saved, deployed = pending.saved, pending.deployed
    return {
        "operator": operator,
        "pending": pending,
        "saved_json": _pretty(saved.data if saved else None),
        "deployed_json": _pretty(deployed.data if deployed else None),
        "differences": (
            versions.diff(deployed.data if deployed else None, saved.data)
            if saved is not None and not pending.up_to_date
            else []
        ),
        "labels": SERVICE_LABELS,
        "deployments": deployments_of(operator.id, limit=RECENT),
        "machines": recorded_of_kind(operator.id, "machine"),
        "buckets": recorded_of_kind(operator.id, "s3_bucket"),
        "assigned": assigned_buckets(operator.id),
        "quota": quota_of(operator.id),
        "usage": total_usage(machine_specs(operator.id)),
        "quota_fields": FIELDS,
        "month_usage": report.this_month(operator.id, utcnow()),
        "entries": provider_rows(log.entries(RECENT, operator_id=operator.id)),
        "open_reset": password_resets.open_link(operator.id),
    }


@bp.route("/operators/<int:operator_id>")
@provider_required
def show(operator_id: int) -> str:
    operator = accounts.get_operator(operator_id)
    return render_template("operators/show.html", **overview(operator), reset_link=None)


@bp.route("/operators/<int:operator_id>/disable", methods=["POST"])
@provider_required
def disable(operator_id: int) -> Response:
    operator = accounts.get_operator(operator_id)
    if accounts.disable(operator):
        audit(Action.OPERATOR_DISABLED, operator_id=operator.id)
        flash(
            gettext(
                "%(email)s is disabled: no login, no API token, no deployment. "
                "Their services keep running.",
                email=operator.email,
            )
        )
    else:
        flash(gettext("%(email)s was already disabled.", email=operator.email))
    return redirect(url_for("operators.show", operator_id=operator.id))


@bp.route("/operators/<int:operator_id>/enable", methods=["POST"])
@provider_required
def enable(operator_id: int) -> Response:
    operator = accounts.get_operator(operator_id)
    if accounts.enable(operator):
        audit(Action.OPERATOR_ENABLED, operator_id=operator.id)
        flash(
            gettext(
                "%(email)s is enabled again: they can log in, use their tokens and deploy.",
                email=operator.email,
            )
        )
    else:
        flash(gettext("%(email)s was not disabled.", email=operator.email))
    return redirect(url_for("operators.show", operator_id=operator.id))


@bp.route("/operators/<int:operator_id>/reset-password", methods=["POST"])
@provider_required
def reset_password(operator_id: int) -> Response:
    """Create a one-time link for the operator to set a new password; show it this once."""
    operator = accounts.get_operator(operator_id)
    token, row = password_resets.issue(operator, by=current_account())
    audit(Action.PASSWORD_RESET, operator_id=operator.id, expires=row.expires_at.isoformat() + "Z")
    link = url_for("accounts.reset_password", token=token, _external=True)
    page = render_template("operators/show.html", **overview(operator), reset_link=link)
    response = make_response(page)
    # The link is a credential until used: no cache keeps the page.
    response.headers["Cache-Control"] = "no-store"
    return response
