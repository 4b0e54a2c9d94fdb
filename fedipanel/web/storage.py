"""Provider pages: an operator's pre-configured buckets."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext
from werkzeug.wrappers import Response

from fedipanel.accounts.models import User
from fedipanel.audit.log import Action
from fedipanel.core.registry import SERVICE_NAMES, SERVICES
from fedipanel.db import db
from fedipanel.storage import records
from fedipanel.storage.models import AssignedBucket
from fedipanel.web import confirm
from fedipanel.web.access import provider_required
from fedipanel.web.audit import audit

bp = Blueprint("storage", __name__, url_prefix="/provider")

_FORM_FIELDS = ("endpoint", "region", "bucket", "public_url", "access_key_id")


def _operator_or_404(operator_id: int) -> User:
    user = db.session.get(User, operator_id)
    if user is None or not user.is_operator:
        abort(404, gettext("No such operator."))
    return user


def _page(
    operator: User,
    values: dict[str, dict[str, str]],
    errors: dict[str, dict[str, str]],
    status: int = 200,
) -> tuple[str, int]:
    assigned = records.assigned_buckets(operator.id)
    page = render_template(
        "storage/buckets.html",
        operator=operator,
        assigned=assigned,
        services=SERVICES,
        values=values,
        errors=errors,
    )
    return page, status


@bp.route("/operators/<int:operator_id>/buckets")
@provider_required
def buckets(operator_id: int) -> tuple[str, int]:
    return _page(_operator_or_404(operator_id), {}, {})


@bp.route("/operators/<int:operator_id>/buckets/<name>", methods=["POST"])
@provider_required
def assign(operator_id: int, name: str) -> Response | tuple[str, int]:
    operator = _operator_or_404(operator_id)
    if name not in SERVICE_NAMES:
        abort(404, gettext("No such service."))
    values = {key: request.form.get(key, "").strip() for key in _FORM_FIELDS}
    try:
        records.assign_bucket(
            operator.id,
            name,
            endpoint=values["endpoint"],
            region=values["region"] or "garage",
            bucket=values["bucket"],
            access_key_id=values["access_key_id"],
            secret=request.form.get("secret", ""),
            public_url=values["public_url"] or None,
        )
    except records.StorageInputError as exc:
        flash(
            gettext("%(name)s: nothing was saved; correct the field marked below.", name=name),
            "error",
        )
        return _page(operator, {name: values}, {name: {exc.field: exc.message}}, 422)
    audit(Action.BUCKET_ASSIGNED, operator_id=operator.id, service=name, bucket=values["bucket"])
    flash(
        gettext(
            "%(name)s of %(email)s now uses bucket %(bucket)s from its next deploy.",
            name=name,
            email=operator.email,
            bucket=values["bucket"],
        )
    )
    return redirect(url_for("storage.buckets", operator_id=operator.id))


def _ask_unassign(
    operator: User, row: AssignedBucket, unconfirmed: bool = False
) -> tuple[str, int]:
    return confirm.ask(
        title=gettext("Stop using a pre-configured bucket"),
        question=gettext(
            "Stop using bucket %(bucket)s for %(service)s of %(email)s?",
            bucket=row.bucket,
            service=row.service,
            email=operator.email,
        ),
        details=[
            gettext(
                "From its next deployment, %(service)s uses buckets FediPanel creates on Garage, "
                "which start empty: media in %(bucket)s are no longer served.",
                service=row.service,
                bucket=row.bucket,
            ),
            gettext(
                "The bucket and its data stay as they are at %(endpoint)s; FediPanel never "
                "deletes them.",
                endpoint=row.endpoint,
            ),
        ],
        action=url_for("storage.unassign", operator_id=operator.id, name=row.service),
        button=gettext("Stop using it"),
        cancel=url_for("storage.buckets", operator_id=operator.id),
        unconfirmed=unconfirmed,
    )


@bp.route("/operators/<int:operator_id>/buckets/<name>/remove")
@provider_required
def ask_unassign(operator_id: int, name: str) -> tuple[str, int]:
    operator = _operator_or_404(operator_id)
    row = records.assigned_bucket(operator.id, name)
    if row is None:
        abort(404, gettext("This service has no pre-configured bucket."))
    return _ask_unassign(operator, row)


@bp.route("/operators/<int:operator_id>/buckets/<name>/remove", methods=["POST"])
@provider_required
def unassign(operator_id: int, name: str) -> Response | tuple[str, int]:
    operator = _operator_or_404(operator_id)
    row = records.assigned_bucket(operator.id, name)
    if row is not None and not confirm.confirmed():
        return _ask_unassign(operator, row, unconfirmed=True)
    if records.unassign_bucket(operator.id, name):
        audit(Action.BUCKET_UNASSIGNED, operator_id=operator.id, service=name)
        flash(
            gettext(
                "%(name)s of %(email)s no longer uses its pre-configured bucket.",
                name=name,
                email=operator.email,
            )
        )
    return redirect(url_for("storage.buckets", operator_id=operator.id))
