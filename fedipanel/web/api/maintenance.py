"""API: the operator's maintenance window, and the provider's default for operators without one."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify
from pydantic import ValidationError

from fedipanel.audit.log import Action
from fedipanel.core.configuration import error_list
from fedipanel.core.maintenance import Window
from fedipanel.maintenance import windows
from fedipanel.timeutil import utcnow
from fedipanel.web.api.auth import api_operator, provider_token_required, token_required
from fedipanel.web.api.params import json_object
from fedipanel.web.audit import audit

bp = Blueprint("maintenance", __name__)


def _invalid(exc: ValidationError) -> Response:
    response = jsonify({"errors": error_list(exc)})
    response.status_code = 422
    return response


@bp.get("/maintenance-window")
@token_required
def get_window() -> Any:
    return jsonify(windows.window_for(api_operator().id).as_json(utcnow()))


@bp.put("/maintenance-window")
@token_required
def put_window() -> Any:
    operator = api_operator()
    try:
        window = Window.model_validate(json_object())
    except ValidationError as exc:
        return _invalid(exc)
    windows.save_window(operator.id, window)
    audit(Action.MAINTENANCE_WINDOW_CHANGED, operator_id=operator.id, timezone=window.timezone)
    return jsonify(windows.window_for(operator.id).as_json(utcnow()))


@bp.delete("/maintenance-window")
@token_required
def delete_window() -> Any:
    operator = api_operator()
    if windows.clear_window(operator.id):
        audit(Action.MAINTENANCE_WINDOW_CHANGED, operator_id=operator.id, timezone="default")
    return jsonify(windows.window_for(operator.id).as_json(utcnow()))


@bp.get("/maintenance-window/default")
@provider_token_required
def get_default() -> Any:
    return jsonify(windows.default_window().model_dump(mode="json"))


@bp.put("/maintenance-window/default")
@provider_token_required
def put_default() -> Any:
    try:
        window = Window.model_validate(json_object())
    except ValidationError as exc:
        return _invalid(exc)
    windows.save_window(None, window)
    audit(Action.MAINTENANCE_WINDOW_CHANGED, operator_id=None, timezone=window.timezone)
    return jsonify(windows.default_window().model_dump(mode="json"))
