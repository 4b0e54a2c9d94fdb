"""The OpenAPI 3.1 description of the JSON API, with the configuration schema embedded."""

from __future__ import annotations

from typing import Any

from fedipanel.core.configuration import json_schema
from fedipanel.core.planner import ACTIONS, DataFate
from fedipanel.deployments.models import Status
from fedipanel.web.api.openapi_buckets import storage_openapi
from fedipanel.web.api.openapi_deletions import deletions_openapi
from fedipanel.web.api.openapi_identity import identity_openapi
from fedipanel.web.api.openapi_mail import mail_openapi
from fedipanel.web.api.openapi_maintenance import maintenance_openapi
from fedipanel.web.api.openapi_notices import notices_openapi
from fedipanel.web.api.openapi_preferences import preferences_openapi
from fedipanel.web.api.openapi_provider import provider_openapi
from fedipanel.web.api.openapi_rollouts import rollouts_openapi
from fedipanel.web.api.openapi_services import services_openapi
from fedipanel.web.api.openapi_usage import usage_openapi

STATUSES = [status.value for status in Status]


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


ERRORS = _json(_ref("Errors"), "Error")
EMPTY_OBJECT = {
    "type": "object",
    "additionalProperties": False,
    "description": "{}: every field a body does not list is refused (422 at its name)",
}
AUTH_ERRORS = {"401": ERRORS, "403": ERRORS}


def openapi_document(*, allow_http_webhooks: bool = False) -> dict[str, Any]:
    """Return the OpenAPI document served at /api/v1/openapi.json."""
    config_schema = json_schema()
    defs = config_schema.pop("$defs", {})
    config_schema.pop("$schema", None)
    schemas: dict[str, Any] = {name: _rewrite_refs(value) for name, value in defs.items()}
    schemas["Configuration"] = _rewrite_refs(config_schema)
    stored = {"version": {"type": "integer"}, "changed": {"type": "boolean"}}
    schemas["StoredConfiguration"] = _with(schemas["Configuration"], stored, required=["version"])
    schemas["ConfigurationInput"] = _with(
        schemas["Configuration"],
        {"version": {"description": "Ignored, so that what GET answered can be sent back"}},
    )
    schemas["Errors"] = {
        "type": "object",
        "required": ["errors"],
        "properties": {
            "errors": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["loc", "msg"],
                    "properties": {
                        "loc": {"type": "array", "items": {"type": ["string", "integer"]}},
                        "msg": {"type": "string"},
                    },
                },
            }
        },
    }
    schemas["Change"] = {
        "type": "object",
        "required": ["action", "kind", "name"],
        "properties": {
            "action": {"enum": list(ACTIONS)},
            "kind": {"type": "string"},
            "name": {"type": "string"},
            "changed": {"type": "array", "items": {"type": "string"}},
            "spec": {"type": "object"},
            "note": {
                "type": "string",
                "description": "What happens to the data, in words. Buckets and keys: 'keep "
                "data', 'delete (data deleted)', or that a pre-configured bucket is left as it "
                "is; machines: e.g. 'shut down, disk and database kept', 'deleted with its disk "
                "and database', 'started again with its disk and database'",
            },
            "data": {
                "enum": [str(fate) for fate in DataFate],
                "description": "For a disabled service's machine, buckets and key: whether "
                "their data is kept, deleted, or (a pre-configured bucket) never deleted",
            },
        },
    }
    usage: dict[str, Any] = {
        "type": "object",
        "properties": {
            key: {"type": ["integer", "null"]} for key in ("vms", "cores", "memory_mib", "disk_gib")
        },
    }
    schemas["Plan"] = {
        "type": "object",
        "required": ["changes"],
        "properties": {
            "changes": {"type": "array", "items": _ref("Change")},
            "summary": {"type": "object", "additionalProperties": {"type": "integer"}},
            "version": {"type": "integer"},
            "quota": {
                "type": "object",
                "description": "Machines' usage (after deploying, and at the peak while "
                "deploying) against the operator's quota (null: unlimited)",
                "properties": {
                    "limits": usage,
                    "final": usage,
                    "peak": usage,
                    "exceeded": {"type": "array", "items": {"type": "string"}},
                    "kept": {
                        "type": "string",
                        "description": "How machines kept for disabled services count: as "
                        "VMs with their disk, without vCPUs and memory (empty: none kept)",
                    },
                },
            },
            "services": {
                "type": "array",
                "description": "Per service, in plain words, what of its data the plan keeps "
                "and what it deletes",
                "items": {
                    "type": "object",
                    "required": ["service", "kept", "deleted"],
                    "properties": {
                        "service": {"type": "string"},
                        "kept": {"type": "array", "items": {"type": "string"}},
                        "deleted": {"type": "array", "items": {"type": "string"}},
                    },
                },
            },
            "refusals": {
                "type": "array",
                "items": {"type": "string"},
                "description": "Why the plan cannot be deployed (e.g. a disk would shrink)",
            },
        },
    }
    summary_props: dict[str, Any] = {
        "id": {"type": "integer"},
        "status": {"enum": STATUSES},
        "progress": {"type": "integer", "minimum": 0, "maximum": 100},
        "phase": {"type": "string"},
        "waitingForWorker": {
            "type": "boolean",
            "description": "Queued, and no worker is running to take it",
        },
        "error": {"type": ["string", "null"]},
        "configVersion": {"type": ["integer", "null"]},
        "generation": {"type": "integer"},
        "simulated": {"type": "array", "items": {"type": "string"}},
        "createdAt": {"type": ["string", "null"], "format": "date-time"},
        "startedAt": {"type": ["string", "null"], "format": "date-time"},
        "finishedAt": {"type": ["string", "null"], "format": "date-time"},
    }
    schemas["DeploymentSummary"] = {
        "type": "object",
        "required": ["id", "status", "progress", "phase", "error"],
        "properties": summary_props,
    }
    schemas["Deployment"] = {
        "allOf": [
            _ref("DeploymentSummary"),
            {
                "type": "object",
                "required": ["log"],
                "properties": {"log": {"type": "array", "items": {"type": "string"}}},
            },
        ]
    }
    empty_body = {
        "required": True,
        "content": {"application/json": {"schema": EMPTY_OBJECT}},
    }
    deployment_id = {
        "name": "id",
        "in": "path",
        "required": True,
        "schema": {"type": "integer"},
    }
    paths: dict[str, Any] = {
        "/schema": {
            "get": {
                "summary": "JSON Schema of an operator configuration",
                "security": [],
                "responses": {"200": _json({"type": "object"}, "The JSON Schema")},
            }
        },
        "/configuration": {
            "get": {
                "summary": "The current configuration with its version",
                "responses": {
                    "200": _json(_ref("StoredConfiguration"), "Current configuration"),
                    "404": ERRORS,
                    **AUTH_ERRORS,
                },
            },
            "put": {
                "summary": "Validate and save the configuration as a new version",
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": _ref("ConfigurationInput")}},
                },
                "responses": {
                    "200": _json(_ref("StoredConfiguration"), "Saved"),
                    "400": ERRORS,
                    "422": ERRORS,
                    **AUTH_ERRORS,
                },
            },
        },
        "/plan": {
            "post": {
                "summary": "What deploying the current configuration would change",
                "description": "422 at `settings` when the provider's settings cannot plan it.",
                "requestBody": empty_body,
                "responses": {
                    "200": _json(_ref("Plan"), "The plan"),
                    "400": ERRORS,
                    "404": ERRORS,
                    "422": _json(
                        _ref("Errors"),
                        "No plan is possible: the provider's settings cannot be used (`loc` "
                        '`["settings"]`), or the domain is in no zone of the provider\'s DNS '
                        'server (`loc` `["domain"]`, the message names the NS record to add)',
                    ),
                    **AUTH_ERRORS,
                },
            }
        },
        "/deployments": {
            "get": {
                "summary": "The operator's deployments, newest first",
                "responses": {
                    "200": _json(
                        {
                            "type": "object",
                            "properties": {
                                "deployments": {
                                    "type": "array",
                                    "items": _ref("DeploymentSummary"),
                                }
                            },
                        },
                        "Deployments",
                    ),
                    **AUTH_ERRORS,
                },
            },
            "post": {
                "summary": "Deploy the current configuration",
                "description": "A plan that deletes data (a machine with its disk, buckets with "
                "their objects, keys) needs the operator's domain in `confirm`; without it, or "
                'with another value, the answer is 422 at `loc` `["confirm"]`, its message '
                "listing what would be deleted. Plans that delete nothing take `{}`.",
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "additionalProperties": False,
                                "properties": {
                                    "confirm": {
                                        "type": "string",
                                        "description": "The configuration's domain, typed "
                                        "again to confirm deleting data",
                                        "examples": ["acme.example"],
                                    }
                                },
                            }
                        }
                    },
                },
                "responses": {
                    "202": _json(
                        {
                            "type": "object",
                            "required": ["id", "status"],
                            "properties": {
                                "id": {"type": "integer"},
                                "status": {"enum": ["queued"]},
                            },
                        },
                        "Queued",
                    ),
                    "400": ERRORS,
                    "409": ERRORS,
                    "422": ERRORS,
                    "503": ERRORS,
                    **AUTH_ERRORS,
                },
            },
        },
        "/deployments/{id}": {
            "get": {
                "summary": "One deployment with its log",
                "parameters": [
                    deployment_id,
                    {
                        "name": "after",
                        "in": "query",
                        "description": (
                            "The number of log lines the caller already has: `log` then holds "
                            "only the later lines"
                        ),
                        "schema": {"type": "integer", "minimum": 0, "maximum": 10**18},
                    },
                ],
                "responses": {
                    "200": _json(_ref("Deployment"), "The deployment"),
                    "404": ERRORS,
                    "422": ERRORS,
                    **AUTH_ERRORS,
                },
            }
        },
    }
    for extra_schemas, extra_paths in (
        storage_openapi(ERRORS),
        provider_openapi(ERRORS),
        usage_openapi(ERRORS),
        deletions_openapi(ERRORS),
        mail_openapi(ERRORS),
        maintenance_openapi(ERRORS),
        rollouts_openapi(ERRORS),
        services_openapi(ERRORS),
        identity_openapi(ERRORS),
        notices_openapi(ERRORS, allow_http_loopback=allow_http_webhooks),
        preferences_openapi(ERRORS),
    ):
        schemas.update(extra_schemas)
        for path, methods in extra_paths.items():  # one path may gain methods from several
            paths.setdefault(path, {}).update(methods)
    return {
        "openapi": "3.1.0",
        "info": {"title": "FediPanel API", "version": "1"},
        "servers": [{"url": "/api/v1"}],
        "security": [{"bearer": []}],
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": schemas,
        },
        "paths": paths,
    }


def _with(
    schema: dict[str, Any], properties: dict[str, Any], required: list[str] | None = None
) -> dict[str, Any]:
    """Return an object schema with more properties (allOf cannot extend a closed object)."""
    return {
        **schema,
        "properties": {**schema["properties"], **properties},
        "required": [*schema.get("required", []), *(required or [])],
    }


def _rewrite_refs(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            key: (
                item.replace("#/$defs/", "#/components/schemas/")
                if key == "$ref" and isinstance(item, str)
                else _rewrite_refs(item)
            )
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [_rewrite_refs(item) for item in value]
    return value
