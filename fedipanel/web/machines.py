"""Provider pages: operators' quotas and the pool of pre-deployed VMs."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext
from sqlalchemy import select
from werkzeug.wrappers import Response

from fedipanel.accounts.models import Role, User
from fedipanel.audit.log import Action
from fedipanel.db import db
from fedipanel.machines import pool
from fedipanel.machines.models import PooledVm
from fedipanel.machines.quota import FIELDS, Usage, parse_quota, quota_of, set_quota, total_usage
from fedipanel.resources.records import machine_specs
from fedipanel.web import confirm
from fedipanel.web.access import provider_required
from fedipanel.web.audit import audit
from fedipanel.web.changes import notice_pool_added, notice_pool_removed, notice_quota

bp = Blueprint("machines", __name__, url_prefix="/provider")


def _usage(operator_id: int) -> Usage:
    return total_usage(machine_specs(operator_id))


def _quotas_page(
    errors: dict[str, str], typed: dict[int, dict[str, str]], status: int = 200
) -> tuple[str, int]:
    """Render the quotas; `typed` keeps what was typed for an operator, `errors` by field."""
    operators = db.session.scalars(
        select(User).where(User.role == Role.OPERATOR).order_by(User.email)
    ).all()
    rows = []
    for op in operators:
        limits = quota_of(op.id)
        quota = {k: "" if limits.get(k) is None else str(limits.get(k)) for k, _label in FIELDS}
        rows.append((op, typed.get(op.id, quota), _usage(op.id)))
    errors_of = {op_id: errors for op_id in typed}
    page = render_template("machines/quotas.html", rows=rows, fields=FIELDS, errors=errors_of)
    return page, status


@bp.route("/quotas")
@provider_required
def quotas() -> tuple[str, int]:
    return _quotas_page({}, {})


@bp.route("/quotas/<int:operator_id>", methods=["POST"])
@provider_required
def save_quota(operator_id: int) -> Response | tuple[str, int]:
    operator = db.session.get(User, operator_id)
    if operator is None or operator.role != Role.OPERATOR:
        abort(404, "No such operator.")
    typed = {key: request.form.get(key, "").strip() for key, _label in FIELDS}
    limits, errors = parse_quota(typed)
    if errors:
        flash(
            gettext(
                "%(email)s: nothing was saved; see the fields marked below.", email=operator.email
            ),
            "error",
        )
        return _quotas_page(errors, {operator_id: typed}, 422)
    set_quota(operator_id, Usage(**limits))
    audit(Action.QUOTA_CHANGED, operator_id=operator_id, **limits)
    notice_quota(operator.email)
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
        audit(Action.POOL_VM_ADDED, vm=row.address)
    except pool.PoolError as exc:
        return _pool_page(values, exc.problems, 422)
    notice_pool_added(row.address)
    return redirect(url_for("machines.vm_pool"))


def _ask_remove(row: PooledVm, unconfirmed: bool = False) -> tuple[str, int]:
    return confirm.ask(
        title="Remove a VM from the pool",
        question=f"Remove {row.address} from the pool?",
        details=[
            "FediPanel no longer hands it to operators' machines.",
            "The VM itself is not touched: it keeps running as it is.",
        ],
        action=url_for("machines.remove_vm", entry_id=row.id),
        button="Remove it from the pool",
        cancel=url_for("machines.vm_pool"),
        unconfirmed=unconfirmed,
    )


@bp.route("/vm-pool/<int:entry_id>/delete")
@provider_required
def ask_remove_vm(entry_id: int) -> Response | tuple[str, int]:
    row = pool.entry(entry_id)
    if row is None:
        abort(404, "No such VM in the pool.")
    if row.operator_id is not None:
        flash(f"{row.address} is in use by machine {row.machine}: it cannot be removed.", "error")
        return redirect(url_for("machines.vm_pool"))
    return _ask_remove(row)


@bp.route("/vm-pool/<int:entry_id>/delete", methods=["POST"])
@provider_required
def remove_vm(entry_id: int) -> Response | tuple[str, int]:
    row = pool.entry(entry_id)
    if row is not None and not confirm.confirmed():
        return _ask_remove(row, unconfirmed=True)
    try:
        pool.remove(entry_id)
        audit(Action.POOL_VM_REMOVED, entry=entry_id)
    except pool.PoolError as exc:
        flash(exc.message, "error")
    else:
        notice_pool_removed()
    return redirect(url_for("machines.vm_pool"))


@bp.route("/vm-pool/<int:entry_id>/clear", methods=["POST"])
@provider_required
def clear_vm(entry_id: int) -> Response:
    try:
        address, reason = pool.clear(entry_id)
    except pool.PoolError as exc:
        flash(exc.message, "error")
    else:
        audit(Action.POOL_VM_CLEARED, vm=address, reason=reason)
        flash(f"{address} is back in the pool: it will be handed out again.")
    return redirect(url_for("machines.vm_pool"))
