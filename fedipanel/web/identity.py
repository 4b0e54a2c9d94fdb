"""The Identity page: the operator's LDAP directory, its connection test and the account sync."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext
from werkzeug.wrappers import Response

from fedipanel.audit.log import Action
from fedipanel.core.directory import SERVICE_SUPPORT, DirectoryInputError
from fedipanel.core.registry import SERVICES
from fedipanel.identity import settings as directory
from fedipanel.identity import sync
from fedipanel.web.access import current_account, operator_required
from fedipanel.web.audit import audit

bp = Blueprint("identity", __name__)


def _form_values() -> dict[str, Any]:
    # An empty field takes its default (uid, mail, cn and the inetOrgPerson filter).
    values: dict[str, Any] = {
        name: request.form.get(name, "").strip() or default
        for name, default in directory.FIELDS.items()
        if not isinstance(default, bool)
    }
    values["insecure"] = request.form.get("insecure") == "yes"
    values["bindPassword"] = request.form.get("bindPassword", "")
    return values


def _page(
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    result: directory.TestResult | None = None,
    status: int = 200,
) -> tuple[str, int]:
    operator = current_account()
    saved = directory.as_json(directory.settings_row(operator.id))
    shown = dict(values or saved)
    shown.pop("bindPassword", None)  # a password is never sent back to the browser
    page = render_template(
        "identity/show.html",
        saved=saved,
        values=shown,
        errors=errors or {},
        result=result,
        services=SERVICES,
        support=SERVICE_SUPPORT,
        syncs=sync.last_syncs(operator.id),
    )
    return page, status


@bp.route("/identity")
@operator_required
def show() -> tuple[str, int]:
    return _page()


@bp.route("/identity", methods=["POST"])
@operator_required
def save() -> Response | tuple[str, int]:
    operator = current_account()
    values = _form_values()
    try:
        connection = directory.parse(values, directory.settings_row(operator.id))
    except DirectoryInputError as exc:
        flash(gettext("Nothing was saved; correct the field marked below."), "error")
        return _page(values, {exc.field: exc.message}, status=422)
    directory.save(operator.id, connection)
    audit(Action.DIRECTORY_SAVED, url=connection.directory.url)
    flash(gettext("Directory saved. Deployments from now on wire your services to it."))
    return redirect(url_for("identity.show"))


@bp.route("/identity/test", methods=["POST"])
@operator_required
def test() -> tuple[str, int]:
    operator = current_account()
    values = _form_values()
    try:
        connection = directory.parse(values, directory.settings_row(operator.id))
    except DirectoryInputError as exc:
        return _page(values, {exc.field: exc.message}, status=422)
    result = directory.test_connection(connection)
    errors = {result.field: result.message} if result.field and not result.ok else {}
    return _page(values, errors, result)


@bp.route("/identity/sync", methods=["POST"])
@operator_required
def sync_now() -> Response:
    operator = current_account()
    try:
        row = sync.queue_sync(operator.id, "on demand")
    except sync.SyncRefused as exc:
        flash(gettext("Cannot sync: %(problem)s.", problem=exc), "error")
        return redirect(url_for("identity.show"))
    audit(Action.DIRECTORY_SYNC_REQUESTED, sync=row.id)
    flash(gettext("Sync %(id)s queued; its outcome appears below when it has run.", id=row.id))
    return redirect(url_for("identity.show"))
