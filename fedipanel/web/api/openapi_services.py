"""The operator's services routes (checks, administrator passwords), for the OpenAPI document."""

from __future__ import annotations

from typing import Any

from fedipanel.core.registry import SERVICE_NAMES


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def services_openapi(errors: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Return (schemas, paths) of the services routes."""
    text = {"type": "string"}
    schemas: dict[str, Any] = {
        "ServiceStatus": {
            "type": "object",
            "required": ["service", "url", "health", "admin"],
            "properties": {
                "service": {"type": "string", "enum": list(SERVICE_NAMES)},
                "label": text,
                "url": {"type": "string", "examples": ["https://mastodon.acme.example/"]},
                "health": {
                    "type": "object",
                    "required": ["ok", "detail", "checkedAt"],
                    "properties": {
                        "ok": {
                            "type": ["boolean", "null"],
                            "description": "null: not checked (not deployed yet, or simulated)",
                        },
                        "detail": text,
                        "checkedAt": {"type": ["string", "null"], "format": "date-time"},
                    },
                },
                "admin": {
                    "type": "object",
                    "required": ["username", "login", "detail"],
                    "properties": {
                        "username": text,
                        "login": {
                            "type": ["string", "null"],
                            "enum": ["ok", "failed", "simulated", None],
                            "description": "null: no login was tried yet",
                        },
                        "detail": text,
                    },
                },
            },
        },
        "AdminPassword": {
            "type": "object",
            "required": ["service", "password", "generation"],
            "properties": {
                "service": text,
                "password": {**text, "description": "Sent with Cache-Control: no-store"},
                "generation": {"type": "integer", "description": "1, then one more per rotation"},
            },
        },
    }
    service = {
        "name": "service",
        "in": "path",
        "required": True,
        "schema": {"type": "string", "enum": list(SERVICE_NAMES)},
    }
    password_body = {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["password"],
                    "properties": {
                        "password": {
                            **text,
                            "minLength": 1,
                            "description": "Your FediPanel password: 422 at `password` when "
                            "it is not",
                        }
                    },
                }
            }
        },
    }
    empty_body = {
        "required": True,
        "content": {
            "application/json": {
                "schema": {"type": "object", "additionalProperties": False, "description": "{}"}
            }
        },
    }
    refusals = {"400": errors, "401": errors, "403": errors, "404": errors}
    paths = {
        "/services": {
            "get": {
                "summary": "Each enabled service: URL, last health check, administrator login",
                "responses": {
                    "200": {
                        "description": "The services",
                        "content": {
                            "application/json": {
                                "schema": {"type": "array", "items": _ref("ServiceStatus")}
                            }
                        },
                    },
                    "401": errors,
                    "403": errors,
                },
            }
        },
        "/services/{service}/admin-password": {
            "post": {
                "summary": "Reveal the administrator password (your own password again; audited)",
                "description": "404 until a deployment of the service made its password.",
                "parameters": [service],
                "requestBody": password_body,
                "responses": {
                    "200": {
                        "description": "The password",
                        "content": {"application/json": {"schema": _ref("AdminPassword")}},
                    },
                    **refusals,
                    "422": errors,
                },
            }
        },
        "/services/{service}/admin-password/rotate": {
            "post": {
                "summary": "Make a new administrator password and deploy it",
                "description": "404 until a deployment of the service made its password; 409 "
                "while a deployment is running; 422 when the deployment cannot start as it "
                "stands (e.g. its plan deletes data: deploy it yourself first); 503 when the "
                "job queue cannot be reached.",
                "parameters": [service],
                "requestBody": empty_body,
                "responses": {
                    "202": {
                        "description": "The deployment that applies it",
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "properties": {
                                        "service": text,
                                        "deployment": {"type": "integer"},
                                        "status": text,
                                    },
                                }
                            }
                        },
                    },
                    **refusals,
                    "409": errors,
                    "422": errors,
                    "503": errors,
                },
            }
        },
    }
    return schemas, paths
