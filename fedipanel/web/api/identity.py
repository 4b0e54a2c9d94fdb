"""API: the operator's LDAP directory, its connection test and the account sync."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify
from sqlalchemy import select

from fedipanel.audit.log import Action
from fedipanel.core.directory import SERVICE_SUPPORT, DirectoryInputError
from fedipanel.db import db
from fedipanel.identity import settings as directory
from fedipanel.identity import sync
from fedipanel.identity.models import DirectorySync
from fedipanel.web.api.auth import api_error, api_operator, token_required
from fedipanel.web.api.params import json_fields, json_object
from fedipanel.web.audit import audit

bp = Blueprint("identity", __name__)


def _view(operator_id: int) -> dict[str, Any]:
    latest = sync.last_syncs(operator_id, limit=1)
    return {
        **directory.as_json(directory.settings_row(operator_id)),
        "services": dict(SERVICE_SUPPORT),
        "lastSync": sync.sync_json(latest[0]) if latest else None,
    }


@bp.get("/identity")
@token_required
def get_identity() -> Any:
    return jsonify(_view(api_operator().id))


@bp.put("/identity")
@token_required
def put_identity() -> Any:
    operator = api_operator()
    body = json_object()
    try:
        connection = directory.parse(body, directory.settings_row(operator.id))
    except DirectoryInputError as exc:
        return api_error(422, exc.message, [exc.field])
    directory.save(operator.id, connection)
    audit(Action.DIRECTORY_SAVED, url=connection.directory.url)
    return jsonify(_view(operator.id))


@bp.post("/identity/test")
@token_required
def test_identity() -> Any:
    """Test the directory in the body (the saved password if none is given), or the saved one."""
    operator = api_operator()
    body = json_object()
    if body:
        try:
            connection = directory.parse(body, directory.settings_row(operator.id))
        except DirectoryInputError as exc:
            return api_error(422, exc.message, [exc.field])
    else:
        saved = directory.saved_connection(operator.id)
        if saved is None:
            return api_error(409, "save a directory first, or send one to test", ["identity"])
        connection = saved
    return jsonify(directory.test_connection(connection).as_json())


@bp.post("/identity/sync")
@token_required
def start_sync() -> Any:
    operator = api_operator()
    json_fields()
    try:
        row = sync.queue_sync(operator.id, "on demand")
    except sync.SyncRefused as exc:
        return api_error(409, str(exc), ["identity"])
    audit(Action.DIRECTORY_SYNC_REQUESTED, sync=row.id)
    return jsonify(sync.sync_json(row)), 202


@bp.get("/identity/syncs/<int:sync_id>")
@token_required
def get_sync(sync_id: int) -> Any:
    row = db.session.scalar(
        select(DirectorySync).where(
            DirectorySync.id == sync_id, DirectorySync.operator_id == api_operator().id
        )
    )
    if row is None:
        return api_error(404, "no such directory sync", ["sync"])
    return jsonify(sync.sync_json(row))
