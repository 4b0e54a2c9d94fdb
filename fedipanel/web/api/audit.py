"""Provider API: the audit log, newest first, a page at a time (read-only)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify, request, url_for

from fedipanel.audit import log
from fedipanel.errors import Refused
from fedipanel.web.api.auth import provider_token_required
from fedipanel.web.api.params import int_arg, query_args
from fedipanel.web.audit_pages import ACTIONS, parse_filters

bp = Blueprint("audit", __name__)

MAX_PAGE = 200


@bp.get("/audit")
@provider_token_required
def list_entries() -> Any:
    query_args("operator", "action", "before", "limit")
    filters, errors = parse_filters(request.args)
    for key, message in errors.items():
        hint = f" ({', '.join(ACTIONS)})" if key == "action" else ""
        raise Refused(message + hint, loc=(key,))
    limit = int_arg("limit", default=50, high=MAX_PAGE) or 50
    rows, next_before = log.page(limit, **filters)
    following = None
    if next_before is not None:
        following = url_for(
            "api.audit.list_entries",
            operator=filters.get("operator_id"),
            action=filters.get("action"),
            before=next_before,
            limit=limit,
        )
    return jsonify({"entries": [log.as_json(row) for row in rows], "next": following})
