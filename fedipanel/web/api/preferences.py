"""API: the language and time zone of the token's own account (for its pages)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify

from fedipanel.accounts.preferences import preferences_of, set_preferences
from fedipanel.audit.log import Action
from fedipanel.web.api.auth import api_error, api_operator, role_token_required
from fedipanel.web.api.params import json_fields
from fedipanel.web.audit import audit

bp = Blueprint("preferences", __name__)
_FIELDS = ("language", "timeZone")


@bp.get("/me/preferences")
@role_token_required
def get_preferences() -> Any:
    return jsonify(preferences_of(api_operator()))


@bp.patch("/me/preferences")
@role_token_required
def patch_preferences() -> Any:
    user = api_operator()
    body = json_fields(*_FIELDS)
    for field in _FIELDS:
        if field in body and body[field] is not None and not isinstance(body[field], str):
            return api_error(422, f"{field} must be a string or null", [field])
    chosen = {**preferences_of(user), **body}
    problems = set_preferences(user, chosen["language"], chosen["timeZone"])
    if problems:
        field, message = next(iter(problems.items()))
        return api_error(422, message, [field])
    audit(Action.PREFERENCES_CHANGED, language=user.language, time_zone=user.time_zone)
    return jsonify(preferences_of(user))
