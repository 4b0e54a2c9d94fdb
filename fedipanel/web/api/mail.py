"""Operator API: send a DKIM-signed test message through the provider's relay."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify

from fedipanel.audit.log import Action
from fedipanel.errors import PanelError
from fedipanel.mail.sending import send_test_mail
from fedipanel.settings import effective
from fedipanel.web.api.auth import api_error, api_operator, token_required
from fedipanel.web.api.params import json_fields
from fedipanel.web.audit import audit
from fedipanel.web.errors import status_of

bp = Blueprint("mail", __name__)


@bp.post("/mail/test")
@token_required
def test_mail() -> Any:
    json_fields()
    try:
        result = send_test_mail(api_operator(), effective.current())
    except PanelError as exc:
        return api_error(status_of(exc), exc.message, list(exc.loc))
    audit(Action.MAIL_TEST_SENT, accepted=result.accepted, code=result.code)
    return jsonify(result.as_json())
