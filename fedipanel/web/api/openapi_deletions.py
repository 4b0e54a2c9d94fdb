"""Account deletion's routes, for the OpenAPI document."""

from __future__ import annotations

from typing import Any


def deletions_openapi(errors: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Return (schemas, paths) of the account deletion routes."""
    accepted = {
        "description": "Queued: the account is disabled at once",
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "required": ["id", "status"],
                    "properties": {"id": {"type": "integer"}, "status": {"enum": ["queued"]}},
                }
            }
        },
    }
    deletion = {
        "type": "object",
        "required": ["id", "operator", "status", "progress", "phase", "log", "leftovers"],
        "properties": {
            "id": {"type": "integer"},
            "operator": {"type": "integer"},
            "status": {"enum": ["queued", "running", "succeeded", "failed", "cancelled"]},
            "progress": {"type": "integer", "minimum": 0, "maximum": 100},
            "phase": {"type": "string"},
            "error": {"type": ["string", "null"]},
            "log": {"type": "array", "items": {"type": "string"}},
            "leftovers": {
                "type": "array",
                "items": {"type": "string"},
                "description": "What the systems still hold of the operator (empty on success)",
            },
        },
    }
    path_id = {"in": "path", "required": True, "schema": {"type": "integer"}}
    auth = {"401": errors, "403": errors, "404": errors}
    paths = {
        "/account": {
            "delete": {
                "summary": "Delete your own account with everything it owns",
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "additionalProperties": False,
                                "required": ["confirm"],
                                "properties": {
                                    "confirm": {
                                        "type": "string",
                                        "description": "Your domain (your deployment name "
                                        "before a configuration was saved)",
                                    }
                                },
                            }
                        }
                    },
                },
                "responses": {
                    "202": accepted,
                    "400": errors,
                    "409": errors,
                    "422": errors,
                    **auth,
                },
            }
        },
        "/operators/{operator}": {
            "delete": {
                "summary": "Delete an operator's account with everything it owns",
                "description": "Provider tokens only.",
                "parameters": [{"name": "operator", **path_id}],
                "responses": {"202": accepted, "409": errors, **auth},
            }
        },
        "/deletions/{id}": {
            "get": {
                "summary": "An account deletion's progress, log and leftovers",
                "description": "For the provider, and for the operator's own token until the "
                "account is gone.",
                "parameters": [{"name": "id", **path_id}],
                "responses": {
                    "200": {
                        "description": "The deletion",
                        "content": {
                            "application/json": {
                                "schema": {"$ref": "#/components/schemas/Deletion"}
                            }
                        },
                    },
                    **auth,
                },
            }
        },
    }
    return {"Deletion": deletion}, paths
