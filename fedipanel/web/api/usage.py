"""Provider API: an operator's usage in a calendar month, as JSON or CSV."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify, request

from fedipanel.accounts.models import User
from fedipanel.core.usage import Month
from fedipanel.db import db
from fedipanel.timeutil import utcnow
from fedipanel.usage import report
from fedipanel.web.api.auth import api_error, provider_token_required
from fedipanel.web.api.params import query_args

bp = Blueprint("usage", __name__)
CSV = "text/csv"


@bp.get("/operators/<int:operator_id>/usage")
@provider_token_required
def operator_usage(operator_id: int) -> Any:
    operator = db.session.get(User, operator_id)
    if operator is None or not operator.is_operator:
        return api_error(404, "no such operator", ["operator"])
    query_args("month")
    now = utcnow()
    text = request.args.get("month")
    try:
        if text is not None and text != text.strip():
            raise ValueError("must not have spaces around it")
        month = Month.of(now) if text is None else Month.parse(text)
    except ValueError as exc:
        return api_error(422, str(exc), ["month"])
    found = report.month_usage(operator.id, month, now)
    if request.accept_mimetypes.best_match(["application/json", CSV]) == CSV:
        name = f"usage-{operator.deployment_name}-{month}.csv"
        return Response(
            report.as_csv([found]),
            mimetype=CSV,
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )
    return jsonify(found.as_json())
