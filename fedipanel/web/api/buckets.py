"""Provider API: pre-configured buckets for an operator's services (provider tokens only)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify

from fedipanel.accounts.models import User
from fedipanel.audit.log import Action
from fedipanel.db import db
from fedipanel.storage import records
from fedipanel.storage.models import AssignedBucket
from fedipanel.web.api.auth import api_error, provider_token_required
from fedipanel.web.api.params import json_fields
from fedipanel.web.audit import audit

bp = Blueprint("buckets", __name__)


def _operator(operator_id: int) -> User | None:
    user = db.session.get(User, operator_id)
    return user if user is not None and user.is_operator else None


def as_json(row: AssignedBucket) -> dict[str, Any]:
    """Return a pre-configured bucket without its secret."""
    return {
        "service": row.service,
        "endpoint": row.endpoint,
        "region": row.region,
        "bucket": row.bucket,
        "publicUrl": row.public_url,
        "accessKeyId": row.access_key_id,
    }


@bp.get("/operators/<int:operator_id>/buckets")
@provider_token_required
def list_buckets(operator_id: int) -> Any:
    if _operator(operator_id) is None:
        return api_error(404, "no such operator", ["operator"])
    rows = records.assigned_buckets(operator_id)
    return jsonify({"buckets": [as_json(rows[name]) for name in sorted(rows)]})


_FIELDS = {
    "endpoint": "endpoint",
    "region": "region",
    "bucket": "bucket",
    "accessKeyId": "access_key_id",
    "secretAccessKey": "secret",
    "publicUrl": "public_url",
}


@bp.put("/operators/<int:operator_id>/buckets/<service_name>")
@provider_token_required
def put_bucket(operator_id: int, service_name: str) -> Any:
    if _operator(operator_id) is None:
        return api_error(404, "no such operator", ["operator"])
    body = json_fields(*_FIELDS)
    values: dict[str, Any] = {}
    for name, arg in _FIELDS.items():
        value = body.get(name)
        if value is not None and not isinstance(value, str):
            return api_error(422, "must be a string", [name])
        if value is None and name != "publicUrl":
            return api_error(422, "this field is required", [name])
        if value is not None and value != value.strip():
            # The API takes values exactly as its document states; forms and the CLI tidy them.
            return api_error(422, "must not have spaces around it", [name])
        values[arg] = value
    try:
        row = records.assign_bucket(operator_id, service_name, **values)
        audit(
            Action.BUCKET_ASSIGNED, operator_id=operator_id, service=service_name, bucket=row.bucket
        )
    except records.StorageInputError as exc:
        loc = {v: k for k, v in _FIELDS.items()}.get(exc.field, exc.field)
        return api_error(422, exc.message, [loc])
    return jsonify(as_json(row))


@bp.delete("/operators/<int:operator_id>/buckets/<service_name>")
@provider_token_required
def delete_bucket(operator_id: int, service_name: str) -> Any:
    if _operator(operator_id) is None:
        return api_error(404, "no such operator", ["operator"])
    if not records.unassign_bucket(operator_id, service_name):
        return api_error(404, "no pre-configured bucket for this service", ["service"])
    audit(Action.BUCKET_UNASSIGNED, operator_id=operator_id, service=service_name)
    return "", 204
