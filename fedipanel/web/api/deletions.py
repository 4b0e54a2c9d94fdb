"""The API of account deletion: an operator deletes their own, the provider any operator's."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify

from fedipanel.accounts.models import User
from fedipanel.audit.log import Action
from fedipanel.db import db
from fedipanel.deployments.deletions import deletion_view, start_deletion
from fedipanel.deployments.models import Deployment, Status
from fedipanel.errors import NotFound, PanelError
from fedipanel.web.api.auth import (
    any_token_required,
    api_error,
    api_operator,
    provider_token_required,
    token_required,
)
from fedipanel.web.api.params import json_fields
from fedipanel.web.audit import audit
from fedipanel.web.errors import status_of

bp = Blueprint("deletions", __name__)


def _accepted(deletion: Deployment) -> Any:
    audit(Action.OPERATOR_DELETION_STARTED, operator_id=deletion.operator_id, deletion=deletion.id)
    response = jsonify({"id": deletion.id, "status": Status.QUEUED})
    response.status_code = 202
    response.headers["Location"] = f"/api/v1/deletions/{deletion.id}"
    return response


@bp.delete("/account")
@token_required
def delete_own_account() -> Any:
    body = json_fields("confirm")
    if not isinstance(body.get("confirm"), str):
        return api_error(
            422, 'send {"confirm": "<your domain>"} to delete the account', ["confirm"]
        )
    operator = api_operator()
    try:
        deletion = start_deletion(operator, requested_by=operator, confirm=body["confirm"])
    except PanelError as exc:
        return api_error(status_of(exc), exc.message, list(exc.loc))
    return _accepted(deletion)


@bp.delete("/operators/<int:operator_id>")
@provider_token_required
def delete_operator(operator_id: int) -> Any:
    operator = db.session.get(User, operator_id)
    if operator is None or not operator.is_operator:
        return api_error(404, "no such operator", ["operator"])
    try:
        deletion = start_deletion(operator, requested_by=api_operator())
    except PanelError as exc:
        return api_error(status_of(exc), exc.message, list(exc.loc))
    return _accepted(deletion)


@bp.get("/deletions/<int:deletion_id>")
@any_token_required
def get_deletion(deletion_id: int) -> Any:
    """A deletion's progress: for the provider, and for the operator until the account is gone."""
    viewer = api_operator()
    try:
        deletion = deletion_view(deletion_id)
    except NotFound:
        return api_error(404, "no such deletion", ["deletion"])
    if not viewer.is_provider and viewer.id != deletion.operator_id:
        return api_error(404, "no such deletion", ["deletion"])
    return jsonify(deletion.as_json())
