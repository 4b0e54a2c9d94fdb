"""The operator's directory routes, for the OpenAPI document."""

from __future__ import annotations

from typing import Any

from fedipanel.identity.settings import FIELDS


def _json(schema: str, description: str) -> dict[str, Any]:
    ref = {"$ref": f"#/components/schemas/{schema}"}
    return {"description": description, "content": {"application/json": {"schema": ref}}}


def identity_openapi(errors: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Return (schemas, paths) of /identity and its test and sync routes."""
    fields: dict[str, Any] = {
        name: {"type": "boolean" if isinstance(default, bool) else "string", "default": default}
        for name, default in FIELDS.items()
    }
    fields["url"]["description"] = "ldaps://host[:port], or ldap:// (StartTLS unless insecure)"
    fields["insecure"]["description"] = "Allow ldap:// without StartTLS (explicit opt-in)"
    fields["caCertificate"]["description"] = "PEM of a private CA that signed the server's cert"
    sync_run = {
        "type": "object",
        "properties": {
            "id": {"type": "integer"},
            "trigger": {"type": "string"},
            "status": {"type": "string", "enum": ["queued", "running", "succeeded", "failed"]},
            "simulated": {"type": "boolean"},
            "queuedAt": {"type": "string"},
            "finishedAt": {"type": ["string", "null"]},
            "changes": {"type": "array", "items": {"type": "string"}},
            "errors": {"type": "array", "items": {"type": "string"}},
        },
    }
    schemas = {
        "DirectoryInput": {
            "type": "object",
            "additionalProperties": False,
            "required": ["url", "bindDn", "baseDn"],
            "properties": {
                **fields,
                "bindPassword": {
                    "type": "string",
                    "writeOnly": True,
                    "description": "Required on the first save; empty or absent keeps it",
                },
            },
        },
        "Directory": {
            "type": "object",
            "properties": {
                **fields,
                "configured": {"type": "boolean"},
                "bindPasswordSet": {"type": "boolean"},
                "services": {"type": "object", "additionalProperties": {"type": "string"}},
                "lastSync": {
                    "oneOf": [{"$ref": "#/components/schemas/DirectorySync"}, {"type": "null"}]
                },
            },
        },
        "DirectorySync": sync_run,
        "DirectoryTest": {
            "type": "object",
            "properties": {
                "ok": {"type": "boolean"},
                "message": {"type": "string"},
                "users": {"type": "integer"},
                "admins": {"type": "integer"},
                "loc": {"type": "array", "items": {"type": "string"}},
            },
        },
    }
    body = {
        "required": True,
        "content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/DirectoryInput"}}
        },
    }
    auth = {"401": errors, "403": errors}
    paths = {
        "/identity": {
            "get": {
                "summary": "The operator's LDAP directory (never its bind password)",
                "responses": {"200": _json("Directory", "The directory"), **auth},
            },
            "put": {
                "summary": "Save the operator's LDAP directory",
                "requestBody": body,
                "responses": {
                    "200": _json("Directory", "Saved"),
                    "400": errors,
                    "422": errors,
                    **auth,
                },
            },
        },
        "/identity/test": {
            "post": {
                "summary": "Bind, count users and admins, and say what is wrong",
                "description": "Tests the directory in the body, or the saved one for `{}`.",
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": {"type": "object"}}},
                },
                "responses": {
                    "200": _json("DirectoryTest", "What the test found"),
                    "400": errors,
                    "422": errors,
                    **auth,
                },
            }
        },
        "/identity/sync": {
            "post": {
                "summary": "Sync the services' accounts with the directory now",
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": {"type": "object"}}},
                },
                "responses": {
                    "202": _json("DirectorySync", "Queued"),
                    "400": errors,
                    "409": errors,
                    **auth,
                },
            }
        },
        "/identity/syncs/{sync}": {
            "get": {
                "summary": "One sync run: what it changed and what failed",
                "parameters": [
                    {"name": "sync", "in": "path", "required": True, "schema": {"type": "integer"}}
                ],
                "responses": {
                    "200": _json("DirectorySync", "The sync run"),
                    "404": errors,
                    **auth,
                },
            }
        },
    }
    return schemas, paths
