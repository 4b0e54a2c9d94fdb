"""The API routes; each mirrors a page and calls the same service functions."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify
from pydantic import ValidationError

from fedipanel.audit.log import Action
from fedipanel.configurations import versions as configurations
from fedipanel.core.configuration import error_list, json_schema
from fedipanel.deployments.lifecycle import (
    NO_WORKER,
    deployment_for,
    deployments_of,
    full_log,
    start_deployment,
    waiting_for_worker,
)
from fedipanel.deployments.models import Deployment, Status
from fedipanel.errors import PanelError
from fedipanel.machines.quota import plan_json
from fedipanel.notifications import webhooks
from fedipanel.planning.plans import PlanError, plan_for
from fedipanel.settings import effective
from fedipanel.web.api.auth import api_error, api_operator, token_required
from fedipanel.web.api.openapi import openapi_document
from fedipanel.web.api.params import int_arg, json_body, json_fields, query_args
from fedipanel.web.audit import audit
from fedipanel.web.errors import status_of

bp = Blueprint("operator", __name__)


@bp.get("/schema")
def schema() -> Any:
    return jsonify(json_schema())


@bp.get("/openapi.json")
def openapi() -> Any:
    return jsonify(openapi_document(allow_http_webhooks=webhooks.allow_http()))


@bp.get("/configuration")
@token_required
def get_configuration() -> Any:
    row = configurations.current_version(api_operator().id)
    if row is None:
        return api_error(404, "no configuration saved yet", ["configuration"])
    return jsonify({**row.data, "version": row.version})


@bp.put("/configuration")
@token_required
def put_configuration() -> Any:
    body = json_body()
    if isinstance(body, dict):
        body = {key: value for key, value in body.items() if key != "version"}
    operator = api_operator()
    try:
        row, changed = configurations.save_configuration(
            operator, body, source="api", author=operator
        )
    except ValidationError as exc:
        response = jsonify({"errors": error_list(exc)})
        response.status_code = 422
        return response
    if changed:
        audit(Action.CONFIGURATION_SAVED, version=row.version, source="api")
    return jsonify({**row.data, "version": row.version, "changed": changed})


@bp.post("/plan")
@token_required
def plan() -> Any:
    json_fields()
    try:
        planned = plan_for(api_operator(), effective.current())
    except PlanError as exc:
        return api_error(422, str(exc), list(exc.loc))
    if planned is None:
        return api_error(404, "no configuration saved yet", ["configuration"])
    return jsonify(
        {
            **planned.plan.as_json(),
            "version": planned.version,
            **plan_json(api_operator(), planned.plan),
        }
    )


@bp.post("/deployments")
@token_required
def create_deployment() -> Any:
    body = json_fields("confirm")
    confirm = body.get("confirm")
    if "confirm" in body and not isinstance(confirm, str):
        return api_error(422, "must be a string: your domain", ["confirm"])
    operator = api_operator()
    try:
        deployment = start_deployment(
            operator, effective.current(), requested_by=operator, confirm=confirm
        )
    except PanelError as exc:
        return api_error(status_of(exc), exc.message, list(exc.loc))
    audit(Action.DEPLOYMENT_STARTED, deployment=deployment.id)
    # The worker may have claimed it already; the contract answers with the accepted state.
    response = jsonify({"id": deployment.id, "status": Status.QUEUED})
    response.status_code = 202
    response.headers["Location"] = f"/api/v1/deployments/{deployment.id}"
    return response


@bp.get("/deployments")
@token_required
def list_deployments() -> Any:
    rows = deployments_of(api_operator().id, limit=100)
    return jsonify({"deployments": [_summary(row) for row in rows]})


@bp.get("/deployments/<int:deployment_id>")
@token_required
def get_deployment(deployment_id: int) -> Any:
    query_args("after")
    # A poller passes the number of lines it already has and gets only the later ones.
    skip = int_arg("after", default=0, low=0) or 0
    deployment = deployment_for(api_operator(), deployment_id)
    return jsonify({**_summary(deployment), "log": full_log(deployment.id, skip)})


def _summary(row: Deployment) -> dict[str, Any]:
    waiting = waiting_for_worker(row)
    return {
        "id": row.id,
        "status": row.status,
        "progress": row.progress,
        "phase": NO_WORKER if waiting else row.phase,
        "waitingForWorker": waiting,
        "error": row.error,
        "configVersion": row.config_version,
        "generation": row.generation,
        "simulated": row.simulated or [],
        "createdAt": _iso(row.created_at),
        "startedAt": _iso(row.started_at),
        "finishedAt": _iso(row.finished_at),
    }


def _iso(value: Any) -> str | None:
    return None if value is None else value.isoformat() + "Z"
