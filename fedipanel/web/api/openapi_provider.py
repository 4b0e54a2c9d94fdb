"""The provider API's operator and audit log routes, for the OpenAPI document."""

from __future__ import annotations

from typing import Any

from fedipanel.audit.log import Action
from fedipanel.core.registry import SERVICE_NAMES
from fedipanel.deployments.models import Status
from fedipanel.machines.quota import FIELDS

PROVIDER_ONLY = "Provider tokens only; operators' tokens get 403."

# The audit filters take up to 18 digits, the most any id of the panel reaches.
ENTRY_ID = {"type": "integer", "minimum": 0, "maximum": 10**18 - 1}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _schemas() -> dict[str, Any]:
    time = {"type": "string", "format": "date-time"}
    maybe_time = {"type": ["string", "null"], "format": "date-time"}
    usage = {
        "type": "object",
        "description": "Machines' VMs, vCPUs, memory and disk (null: unlimited)",
        "properties": {key: {"type": ["integer", "null"]} for key, _label in FIELDS},
    }
    next_page = {
        "type": ["string", "null"],
        "description": "The path of the next page with the same filters; null on the last page",
    }
    return {
        "OperatorSummary": {
            "type": "object",
            "required": ["id", "email", "deploymentName", "status", "createdAt"],
            "properties": {
                "id": {"type": "integer"},
                "email": {"type": "string"},
                "deploymentName": {"type": "string"},
                "status": {
                    "enum": ["active", "disabled", "deleted"],
                    "description": "A disabled operator cannot log in, use tokens or deploy; "
                    "their services keep running. A deleted operator's answer holds what the "
                    "accounting record keeps (deletedAt, retainUntil, deletion, deployments, "
                    "usage)",
                },
                "createdAt": time,
                "disabledAt": maybe_time,
                "latestDeployment": {
                    "type": ["object", "null"],
                    "properties": {
                        "id": {"type": "integer"},
                        "status": {"enum": [s.value for s in Status]},
                        "createdAt": time,
                    },
                },
            },
        },
        "Operator": {
            "allOf": [
                _ref("OperatorSummary"),
                {
                    "type": "object",
                    "properties": {
                        "configuration": {
                            "type": "object",
                            "properties": {
                                "savedVersion": {"type": ["integer", "null"]},
                                "deployedVersion": {
                                    "type": ["integer", "null"],
                                    "description": "The version of the last succeeded deployment",
                                },
                                "undeployed": {
                                    "type": "object",
                                    "description": "Services whose saved settings are not "
                                    "deployed yet, and what deploying does to them",
                                    "propertyNames": {"enum": list(SERVICE_NAMES)},
                                    "additionalProperties": {
                                        "enum": ["to be added", "to be removed", "changed"]
                                    },
                                },
                            },
                        },
                        "quota": {
                            "type": "object",
                            "properties": {"limits": usage, "used": usage},
                        },
                        "machines": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "properties": {
                                    "name": {"type": "string"},
                                    "address": {"type": ["string", "null"]},
                                    "vmid": {"type": ["integer", "null"]},
                                    "node": {"type": ["string", "null"]},
                                    "simulated": {"type": "boolean"},
                                },
                            },
                        },
                        "buckets": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "properties": {
                                    "name": {"type": "string"},
                                    "service": {"enum": list(SERVICE_NAMES)},
                                    "preconfigured": {"type": "boolean"},
                                    "simulated": {"type": "boolean"},
                                },
                            },
                        },
                        "deletedAt": time,
                        "retainUntil": time,
                        "deletion": {"type": ["integer", "null"]},
                        "deployments": {"type": "array", "items": {"type": "object"}},
                        "usage": {"type": "object"},
                    },
                },
            ]
        },
        "OperatorPage": {
            "type": "object",
            "required": ["operators", "next"],
            "properties": {
                "operators": {"type": "array", "items": _ref("OperatorSummary")},
                "next": next_page,
            },
        },
        "AuditEntry": {
            "type": "object",
            "required": ["id", "at", "actor", "operator", "action", "address", "details"],
            "properties": {
                "id": {"type": "integer"},
                "at": time,
                "actor": {
                    "type": "object",
                    "description": "Who did it: an account, the email a failed login named, "
                    "'command line', or null ids for the panel itself",
                    "properties": {
                        "id": {"type": ["integer", "null"]},
                        "email": {"type": ["string", "null"]},
                    },
                },
                "operator": {
                    "type": ["integer", "null"],
                    "description": "The operator account the entry is about",
                },
                "action": {"enum": [a.value for a in Action]},
                "address": {
                    "type": ["string", "null"],
                    "description": "The client's address (behind FEDIPANEL_TRUSTED_PROXIES)",
                },
                "details": {"type": "object", "description": "What changed; never a secret"},
            },
        },
        "AuditPage": {
            "type": "object",
            "required": ["entries", "next"],
            "properties": {
                "entries": {"type": "array", "items": _ref("AuditEntry")},
                "next": next_page,
            },
        },
    }


def provider_openapi(errors: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Return (schemas, paths) of the operator and audit log routes."""
    operator = {"name": "operator", "in": "path", "required": True, "schema": {"type": "integer"}}
    limit = {
        "name": "limit",
        "in": "query",
        "schema": {"type": "integer", "minimum": 1, "maximum": 200, "default": 50},
    }
    empty_body = {
        "required": True,
        "content": {
            "application/json": {"schema": {"type": "object", "additionalProperties": False}}
        },
    }
    answers = {"401": errors, "403": errors, "404": errors}

    def status_change(summary: str) -> dict[str, Any]:
        return {
            "summary": summary,
            "description": PROVIDER_ONLY + " Recorded in the audit log when it changes anything.",
            "parameters": [operator],
            "requestBody": empty_body,
            "responses": {"200": _json(_ref("Operator"), "The operator"), "400": errors, **answers},
        }

    paths = {
        "/operators": {
            "get": {
                "summary": "Operators, by id, a page at a time",
                "description": PROVIDER_ONLY,
                "parameters": [
                    {
                        "name": "after",
                        "in": "query",
                        "description": "Only operators with a higher id (the next page)",
                        "schema": {"type": "integer", "minimum": 1, "maximum": 10**18},
                    },
                    limit,
                ],
                "responses": {
                    "200": _json(_ref("OperatorPage"), "Operators"),
                    "422": errors,
                    "401": errors,
                    "403": errors,
                },
            }
        },
        "/operators/{operator}": {
            "get": {
                "summary": "One operator: status, configuration versions, quota, resources",
                "description": PROVIDER_ONLY,
                "parameters": [operator],
                "responses": {"200": _json(_ref("Operator"), "The operator"), **answers},
            }
        },
        "/operators/{operator}/disable": {
            "post": status_change(
                "Disable an operator: no login, no token, no deployment; services keep running"
            )
        },
        "/operators/{operator}/enable": {"post": status_change("Enable a disabled operator again")},
        "/audit": {
            "get": {
                "summary": "Audit log entries, newest first, a page at a time",
                "description": PROVIDER_ONLY + " Entries are never edited or deleted.",
                "parameters": [
                    {
                        "name": "operator",
                        "in": "query",
                        "description": "Only entries about this operator's account",
                        "schema": ENTRY_ID,
                    },
                    {
                        "name": "action",
                        "in": "query",
                        "schema": {"enum": [a.value for a in Action]},
                    },
                    {
                        "name": "before",
                        "in": "query",
                        "description": "Only entries older than this entry id (the next page)",
                        "schema": ENTRY_ID,
                    },
                    limit,
                ],
                "responses": {
                    "200": _json(_ref("AuditPage"), "Entries"),
                    "422": errors,
                    "401": errors,
                    "403": errors,
                },
            }
        },
    }
    return _schemas(), paths
