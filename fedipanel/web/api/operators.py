"""Provider API: operators' summaries, disabling and enabling them (provider tokens only)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify, url_for

from fedipanel.accounting.records import record_of
from fedipanel.accounts import operators as accounts
from fedipanel.accounts.models import User
from fedipanel.audit.log import Action
from fedipanel.deployments.lifecycle import latest_deployments
from fedipanel.deployments.models import Deployment
from fedipanel.deployments.pending import pending_changes
from fedipanel.errors import NotFound
from fedipanel.machines.quota import FIELDS, Usage, quota_of, total_usage
from fedipanel.resources.records import machine_specs, recorded_of_kind
from fedipanel.timeutil import iso
from fedipanel.web.api.auth import provider_token_required
from fedipanel.web.api.params import int_arg, json_fields, query_args
from fedipanel.web.audit import audit

bp = Blueprint("operators", __name__)

MAX_PAGE = 200


def summary(operator: User, latest: Deployment | None) -> dict[str, Any]:
    """Return the operator as the list shows it."""
    return {
        "id": operator.id,
        "email": operator.email,
        "deploymentName": operator.deployment_name,
        "status": "disabled" if operator.disabled_at else "active",
        "createdAt": iso(operator.created_at),
        "disabledAt": iso(operator.disabled_at),
        "latestDeployment": (
            None
            if latest is None
            else {"id": latest.id, "status": latest.status, "createdAt": iso(latest.created_at)}
        ),
    }


def _usage(usage: Usage) -> dict[str, int | None]:
    return {key: usage.get(key) for key, _label in FIELDS}


def details(operator: User) -> dict[str, Any]:
    """Return the operator's summary with configuration, quota, machines and buckets."""
    pending = pending_changes(operator.id)
    machines = recorded_of_kind(operator.id, "machine")
    return {
        **summary(operator, latest_deployments([operator.id]).get(operator.id)),
        "configuration": {
            "savedVersion": pending.saved.version if pending.saved else None,
            "deployedVersion": pending.deployed.version if pending.deployed else None,
            "undeployed": pending.services,
        },
        "quota": {
            "limits": _usage(quota_of(operator.id)),
            "used": _usage(total_usage(machine_specs(operator.id))),
        },
        "machines": [
            {
                "name": row.name,
                "address": row.facts.get("address"),
                "vmid": row.facts.get("vmid"),
                "node": row.facts.get("node"),
                "simulated": row.simulated,
            }
            for row in machines
        ],
        "buckets": [
            {
                "name": row.name,
                "service": row.spec.get("service"),
                "preconfigured": bool(row.spec.get("assigned")),
                "simulated": row.simulated,
            }
            for row in recorded_of_kind(operator.id, "s3_bucket")
        ],
    }


@bp.get("/operators")
@provider_token_required
def list_operators() -> Any:
    query_args("after", "limit")
    after = int_arg("after")
    limit = int_arg("limit", default=50, high=MAX_PAGE) or 50
    rows, more = accounts.operators_after(after, limit)
    latest = latest_deployments([row.id for row in rows])
    following = (
        url_for("api.operators.list_operators", after=rows[-1].id, limit=limit) if more else None
    )
    return jsonify(
        {"operators": [summary(row, latest.get(row.id)) for row in rows], "next": following}
    )


@bp.get("/operators/<int:operator_id>")
@provider_token_required
def get_operator(operator_id: int) -> Any:
    try:
        return jsonify(details(accounts.get_operator(operator_id)))
    except NotFound:
        record = record_of(operator_id)
        if record is None:
            raise
    # A deleted operator: what the accounting record keeps.
    return jsonify(
        {
            "id": record.operator_id,
            "email": record.email,
            "deploymentName": record.deployment_name,
            "status": "deleted",
            "createdAt": iso(record.created_at),
            "deletedAt": iso(record.deleted_at),
            "retainUntil": iso(record.retain_until),
            "deletion": record.deletion_id,
            "deployments": record.deployments,
            "usage": record.usage,
        }
    )


@bp.post("/operators/<int:operator_id>/disable")
@provider_token_required
def disable(operator_id: int) -> Any:
    operator = accounts.get_operator(operator_id)
    json_fields()
    if accounts.disable(operator):
        audit(Action.OPERATOR_DISABLED, operator_id=operator.id)
    return jsonify(details(operator))


@bp.post("/operators/<int:operator_id>/enable")
@provider_token_required
def enable(operator_id: int) -> Any:
    operator = accounts.get_operator(operator_id)
    json_fields()
    if accounts.enable(operator):
        audit(Action.OPERATOR_ENABLED, operator_id=operator.id)
    return jsonify(details(operator))
