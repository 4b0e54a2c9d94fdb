"""Provider pages: operators' quotas and the pool of pre-deployed VMs."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from sqlalchemy import select
from werkzeug.wrappers import Response

from fedipanel.accounts.access import provider_required
from fedipanel.accounts.models import Role, User
from fedipanel.deployments.models import RecordedResource
from fedipanel.extensions import db
from fedipanel.machines import bp, models, pool  # noqa: F401 - models must be known to the app
from fedipanel.machines.quota import FIELDS, Usage, quota_of, set_quota


def _usage(operator_id: int) -> Usage:
    specs = db.session.scalars(
        select(RecordedResource.spec).where(
            RecordedResource.operator_id == operator_id, RecordedResource.kind == "machine"
        )
    ).all()
    return Usage(
        vms=len(specs),
        cores=sum(int(s.get("cores", 0)) for s in specs),
        memory_mib=sum(int(s.get("memory_mib", 0)) for s in specs),
        disk_gib=sum(int(s.get("disk_gib", 0)) for s in specs),
    )


def _quotas_page(errors: dict[int, str], status: int = 200) -> tuple[str, int]:
    operators = db.session.scalars(
        select(User).where(User.role == Role.OPERATOR).order_by(User.email)
    ).all()
    rows = [(op, quota_of(op.id), _usage(op.id)) for op in operators]
    page = render_template("machines/quotas.html", rows=rows, fields=FIELDS, errors=errors)
    return page, status


@bp.route("/quotas")
@provider_required
def quotas() -> tuple[str, int]:
    return _quotas_page({})


@bp.route("/quotas/<int:operator_id>", methods=["POST"])
@provider_required
def save_quota(operator_id: int) -> Response | tuple[str, int]:
    operator = db.session.get(User, operator_id)
    if operator is None or operator.role != Role.OPERATOR:
        abort(404, "No such operator.")
    limits: dict[str, int | None] = {}
    for key, label in FIELDS:
        text = request.form.get(key, "").strip()
        if not text:
            limits[key] = None
        elif text.isdigit():
            limits[key] = int(text)
        else:
            flash(f"{operator.email}: nothing was saved; {label} must be a whole number.", "error")
            return _quotas_page({operator_id: f"{label} must be a whole number or empty"}, 422)
    set_quota(operator_id, Usage(**limits))
    flash(f"Quota for {operator.email} saved.")
    return redirect(url_for("machines.quotas"))


def _pool_page(values: dict[str, str], errors: dict[str, str], status: int = 200) -> Any:
    names = {row.id: row.email for row in db.session.execute(select(User.id, User.email))}
    page = render_template(
        "machines/pool.html", entries=pool.entries(), names=names, values=values, errors=errors
    )
    return page, status


@bp.route("/vm-pool")
@provider_required
def vm_pool() -> Any:
    return _pool_page({}, {})


@bp.route("/vm-pool", methods=["POST"])
@provider_required
def add_vm() -> Any:
    values = {key: request.form.get(key, "").strip() for key in ("address", "host_key")}
    try:
        row = pool.add(values["address"], values["host_key"])
    except pool.PoolError as exc:
        return _pool_page(values, {exc.field: exc.message}, 422)
    flash(f"{row.address} added to the pool.")
    return redirect(url_for("machines.vm_pool"))


@bp.route("/vm-pool/<int:entry_id>/delete", methods=["POST"])
@provider_required
def remove_vm(entry_id: int) -> Response:
    try:
        pool.remove(entry_id)
    except pool.PoolError as exc:
        flash(exc.message, "error")
    else:
        flash("Removed from the pool.")
    return redirect(url_for("machines.vm_pool"))


@bp.app_template_global()
def machine_summary(planned: Any) -> dict[str, Any]:
    """Return what the plan page says about machines: quota, refusals, where VMs come from."""
    from flask_login import current_user

    from fedipanel.machines.quota import refusals, report
    from fedipanel.machines.service import backend

    found = report(current_user.id, planned.plan)
    refused = refusals(planned.plan)
    return {
        "report": found,
        "fields": FIELDS,
        "refusals": refused,
        "backend": backend(),
        "blocked": bool(refused or found.problems),
        "message": found.message() if found.problems else "",
    }
