"""Operator API: notices from the panel, and the webhook they are also POSTed to."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify

from fedipanel.audit.log import Action
from fedipanel.notifications import notices, webhooks
from fedipanel.web.api.auth import api_error, api_operator, token_required
from fedipanel.web.api.params import json_object
from fedipanel.web.audit import audit

bp = Blueprint("notices", __name__)


@bp.get("/notices")
@token_required
def list_notices() -> Any:
    rows = notices.notices_of(api_operator().id)
    return jsonify({"notices": [notices.as_json(row) for row in rows]})


@bp.post("/notices/<int:notice_id>/read")
@token_required
def read_notice(notice_id: int) -> Any:
    return jsonify(notices.as_json(notices.mark_read(api_operator().id, notice_id)))


@bp.get("/webhook")
@token_required
def get_webhook() -> Any:
    row = webhooks.webhook_of(api_operator().id)
    if row is None:
        return api_error(404, "no webhook registered", ["webhook"])
    return jsonify({"url": row.url})


@bp.put("/webhook")
@token_required
def put_webhook() -> Any:
    body = json_object()
    unknown = sorted(set(body) - {"url"})
    if unknown:
        return api_error(422, f"unknown field {unknown[0]!r}", [unknown[0]])
    row, secret = webhooks.set_webhook(api_operator().id, body.get("url"))
    audit(Action.WEBHOOK_SET, url=row.url)
    response = jsonify({"url": row.url, "secret": secret})
    response.headers["Cache-Control"] = "no-store"  # the secret is shown this once
    return response


@bp.delete("/webhook")
@token_required
def delete_webhook() -> Any:
    if not webhooks.remove_webhook(api_operator().id):
        return api_error(404, "no webhook registered", ["webhook"])
    audit(Action.WEBHOOK_REMOVED)
    return "", 204
