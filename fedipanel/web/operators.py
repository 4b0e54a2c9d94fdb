"""Provider pages: the operator list and creating operator accounts."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from sqlalchemy import select
from werkzeug.wrappers import Response

from fedipanel.accounts import users
from fedipanel.accounts.models import Role, User
from fedipanel.audit.log import Action
from fedipanel.db import db
from fedipanel.deployments.lifecycle import latest_deployments
from fedipanel.web.access import provider_required
from fedipanel.web.audit import audit

bp = Blueprint("operators", __name__, url_prefix="/provider")


def _render(values: dict[str, str], errors: dict[str, str], status: int = 200) -> tuple[str, int]:
    operators = db.session.scalars(
        select(User).where(User.role == Role.OPERATOR).order_by(User.email)
    ).all()
    latest = latest_deployments([op.id for op in operators])
    page = render_template(
        "operators/index.html", operators=operators, latest=latest, values=values, errors=errors
    )
    return page, status


@bp.route("/operators")
@provider_required
def index() -> tuple[str, int]:
    return _render({}, {})


@bp.route("/operators", methods=["POST"])
@provider_required
def create() -> Response | tuple[str, int]:
    values = {key: request.form.get(key, "").strip() for key in ("email", "slug")}
    try:
        user = users.create_user(
            values["email"], request.form.get("password", ""), Role.OPERATOR, values["slug"] or None
        )
    except users.AccountError as exc:
        return _render(values, {exc.field: exc.message}, 400)
    audit(Action.OPERATOR_CREATED, operator_id=user.id, created=user.email, slug=user.slug)
    flash(f"Operator {user.email} created with deployment name '{user.slug}'.")
    return redirect(url_for("operators.index"))
