"""The rollout routes, for the OpenAPI document."""

from __future__ import annotations

from typing import Any

from fedipanel.core.rollouts import RolloutSpec
from fedipanel.rollouts.models import RolloutStatus, TargetState


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _path_id(name: str, description: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "path",
        "required": True,
        "description": description,
        "schema": {"type": "integer", "minimum": 1},
    }


def _schedule_body() -> dict[str, Any]:
    """Return the schedule body: `{"at": <time with offset>}` or `{"now": true}`."""
    at = {"type": "string", "format": "date-time", "examples": ["2027-01-10T02:00:00+01:00"]}
    return {
        "oneOf": [
            {
                "type": "object",
                "additionalProperties": False,
                "required": ["at"],
                "properties": {"at": at, "now": {"const": False}},
            },
            {
                "type": "object",
                "additionalProperties": False,
                "required": ["now"],
                "properties": {"now": {"const": True}},
            },
        ]
    }


def rollouts_openapi(errors: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Return (schemas, paths) of the rollout routes."""
    spec = RolloutSpec.model_json_schema(ref_template="#/components/schemas/Rollout{model}")
    schemas: dict[str, Any] = {f"Rollout{k}": v for k, v in spec.pop("$defs", {}).items()}
    schemas["RolloutRequest"] = spec
    moment = {"type": ["string", "null"], "format": "date-time"}
    state = {"type": "string", "enum": [s.value for s in TargetState]}
    change = {
        "type": "object",
        "required": ["action", "kind", "name"],
        "properties": {
            "action": {"type": "string"},
            "kind": {"type": "string"},
            "name": {"type": "string"},
            "changed": {"type": "array", "items": {"type": "string"}},
            "note": {"type": "string"},
        },
    }
    summary_props: dict[str, Any] = {
        "id": {"type": "integer"},
        "title": {"type": "string"},
        "reason": {"type": "string"},
        "kind": {"type": "string"},
        "status": {"type": "string", "enum": [s.value for s in RolloutStatus]},
        "statusReason": {"type": ["string", "null"]},
        "deadline": moment,
        "batchSize": {"type": "integer"},
        "failureThreshold": {"type": "integer"},
        "noticeHours": {"type": "integer"},
        "createdAt": moment,
        "counts": {"type": "object", "additionalProperties": {"type": "integer"}},
        "progress": {"type": "integer", "minimum": 0, "maximum": 100},
    }
    schemas["RolloutSummary"] = {
        "type": "object",
        "required": ["id", "title", "status", "deadline", "counts", "progress"],
        "properties": summary_props,
    }
    schemas["RolloutBoard"] = {
        "type": "object",
        "required": ["id", "status", "operators"],
        "properties": {
            **summary_props,
            "operators": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["id", "state", "scheduledFor", "deployment"],
                    "properties": {
                        "id": {"type": "integer", "description": "The operator's id"},
                        "state": state,
                        "batch": {"type": "integer"},
                        "scheduledFor": moment,
                        "deployment": {"type": ["integer", "null"]},
                        "detail": {"type": ["string", "null"]},
                    },
                },
            },
        },
    }
    schemas["OperatorRollout"] = {
        "type": "object",
        "description": "What an operator sees of a rollout they are in",
        "required": ["id", "title", "reason", "state", "deadline", "scheduledFor", "choices"],
        "properties": {
            "id": {"type": "integer"},
            "title": {"type": "string"},
            "reason": {"type": "string"},
            "kind": {"type": "string"},
            "status": summary_props["status"],
            "deadline": moment,
            "state": state,
            "proposedFor": moment,
            "scheduledFor": moment,
            "changes": {"type": "array", "items": change},
            "deployment": {"type": ["integer", "null"]},
            "detail": {"type": ["string", "null"]},
            "choices": {
                "type": "array",
                "description": "Starts of the operator's windows they may pick",
                "items": {"type": "string", "format": "date-time"},
            },
        },
    }
    either = {
        "oneOf": [
            _ref("RolloutSummary"),
            _ref("OperatorRollout"),
        ]
    }
    rollout = _path_id("rollout_id", "The rollout's id")
    board = _json(_ref("RolloutBoard"), "The rollout with every operator's state")
    auth = {"401": errors, "403": errors}
    empty_body = {
        "required": True,
        "content": {
            "application/json": {
                "schema": {"type": "object", "additionalProperties": False, "description": "{}"}
            }
        },
    }
    paths: dict[str, Any] = {
        "/rollouts": {
            "get": {
                "summary": "Rollouts: all of them for the provider, one's own for an operator",
                "responses": {
                    "200": _json(
                        {
                            "type": "object",
                            "required": ["rollouts"],
                            "properties": {"rollouts": {"type": "array", "items": either}},
                        },
                        "Rollouts, newest first",
                    ),
                    **auth,
                },
            },
            "post": {
                "summary": "Create a rollout and tell every operator in it (provider tokens only)",
                "description": "The `deadline` must come after the notice period (`noticeHours` "
                "from now) and fall within the years 1 to 9999 in UTC: 422 at `loc` "
                '`["deadline"]` otherwise. Every id in `operators` must '
                "be an operator's: 422 at `[\"operators\", <index>]` otherwise. A `pin`'s "
                "`flakeLock.root` must name one of its `nodes`: 422 at "
                '`["change", "pin", "flakeLock"]` otherwise.',
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": _ref("RolloutRequest")}},
                },
                "responses": {
                    "201": _json(_ref("RolloutSummary"), "Created; `id` is the rollout's id"),
                    "400": errors,
                    "422": errors,
                    **auth,
                },
            },
        },
        "/rollouts/{rollout_id}": {
            "get": {
                "summary": "The provider's board, or the operator's own view",
                "parameters": [rollout],
                "responses": {
                    "200": _json(
                        {"oneOf": [_ref("RolloutBoard"), _ref("OperatorRollout")]}, "The rollout"
                    ),
                    "404": errors,
                    **auth,
                },
            }
        },
        "/rollouts/{rollout_id}/schedule": {
            "post": {
                "summary": "Pick one of your windows before the deadline, or run it now",
                "description": "`at` must be the start of one of the operator's windows that "
                "opens after the notice period and before the deadline (one of `choices`): 422 "
                'at `loc` `["at"]` otherwise. 409 once the update can no longer be moved.',
                "parameters": [rollout],
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": _schedule_body()}},
                },
                "responses": {
                    "200": _json(_ref("OperatorRollout"), "Scheduled"),
                    "400": errors,
                    "404": errors,
                    "409": errors,
                    "422": errors,
                    **auth,
                },
            }
        },
    }
    for action, words in (
        ("pause", "Stop starting updates"),
        ("resume", "Go on after a pause"),
        ("retry", "Run the failed operators' updates again, then go on"),
        ("cancel", "Run nothing more; operators are told"),
    ):
        paths[f"/rollouts/{{rollout_id}}/{action}"] = {
            "post": {
                "summary": f"{words} (provider tokens only)",
                "parameters": [rollout],
                "requestBody": empty_body,
                "responses": {
                    "200": board,
                    "400": errors,
                    "404": errors,
                    "409": errors,
                    "422": errors,
                    **auth,
                },
            }
        }
    operator = _path_id("operator_id", "The operator's id")
    for action, words in (("run-now", "Run this operator's update now"), ("skip", "Skip it")):
        paths[f"/rollouts/{{rollout_id}}/operators/{{operator_id}}/{action}"] = {
            "post": {
                "summary": f"{words} (provider tokens only)",
                "parameters": [rollout, operator],
                "requestBody": empty_body,
                "responses": {
                    "200": board,
                    "400": errors,
                    "404": errors,
                    "409": errors,
                    "422": errors,
                    **auth,
                },
            }
        }
    return schemas, paths
