"""The operator's services over the API: their checks, and their administrator passwords."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify, request

from fedipanel.audit.log import Action
from fedipanel.deployments.models import Status
from fedipanel.errors import Refused
from fedipanel.services import passwords
from fedipanel.services.checks import service_status
from fedipanel.web.api.auth import api_operator, token_required
from fedipanel.web.api.params import json_fields
from fedipanel.web.audit import audit
from fedipanel.web.services import no_store, rotate_and_deploy

bp = Blueprint("services", __name__)


@bp.get("/services")
@token_required
def list_services() -> Any:
    return jsonify(service_status(api_operator().id))


@bp.post("/services/<service>/admin-password")
@token_required
def reveal_password(service: str) -> Any:
    operator = api_operator()
    passwords.known_service(operator.id, service)
    given = json_fields("password").get("password")
    if not isinstance(given, str) or not given:
        raise Refused("must be your FediPanel password, as a string", loc=("password",))
    password = passwords.reveal(operator, service, given, request.remote_addr)
    row = passwords.known_service(operator.id, service)
    return no_store(
        jsonify({"service": service, "password": password, "generation": row.generation})
    )


@bp.post("/services/<service>/admin-password/rotate")
@token_required
def rotate_password(service: str) -> Any:
    operator = api_operator()
    passwords.known_service(operator.id, service)
    json_fields()
    deployment = rotate_and_deploy(operator, service)
    audit(Action.DEPLOYMENT_STARTED, deployment=deployment.id)
    response = jsonify({"service": service, "deployment": deployment.id, "status": Status.QUEUED})
    response.status_code = 202
    response.headers["Location"] = f"/api/v1/deployments/{deployment.id}"
    return response
