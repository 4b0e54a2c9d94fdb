"""The operator's directory routes, for the OpenAPI document."""

from __future__ import annotations

from typing import Any

from fedipanel.core.directory import (
    ATTRIBUTE_PATTERN,
    DN_PATTERN,
    FILTER_DEPTH,
    FILTER_PATTERN,
    GROUP_PATTERN,
    URL_PATTERN,
)
from fedipanel.identity.settings import CA_CERTIFICATE, FIELDS, PASSWORD_MAX, max_length

REQUIRED = ("url", "bindDn", "baseDn")
NO_NUL = r"^[^\x00]*$"
PATTERNS = {
    "url": URL_PATTERN,
    "bindDn": DN_PATTERN,
    "baseDn": DN_PATTERN,
    "userFilter": FILTER_PATTERN,
    "usernameAttribute": ATTRIBUTE_PATTERN,
    "emailAttribute": ATTRIBUTE_PATTERN,
    "nameAttribute": ATTRIBUTE_PATTERN,
    "adminGroup": GROUP_PATTERN,
    "caCertificate": CA_CERTIFICATE.pattern,
}


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
    fields["userFilter"]["description"] = (
        f"An LDAP filter in parentheses that pair up, nested at most {FILTER_DEPTH} deep"
    )
    # What is saved must match these; what GET answers may be the empty, unsaved directory.
    checked = {
        name: {**value, "pattern": PATTERNS[name], "maxLength": max_length(name)}
        if name in PATTERNS
        else value
        for name, value in fields.items()
    }
    for name in REQUIRED:
        checked[name].pop("default")
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
            "required": list(REQUIRED),
            "properties": {
                **checked,
                "bindPassword": {
                    "type": "string",
                    "writeOnly": True,
                    "maxLength": PASSWORD_MAX,
                    "pattern": NO_NUL,
                    "description": "Required while none is saved (422 at `bindPassword` "
                    "otherwise); empty or absent keeps the saved one",
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
    empty = {"type": "object", "additionalProperties": False, "description": "{}"}
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
                "description": "Tests the directory in the body, or the saved one for `{}` "
                "(409 while none is saved). A directory in the body without `bindPassword` "
                "uses the saved password: 422 at `bindPassword` while none is saved.",
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "anyOf": [
                                    {"$ref": "#/components/schemas/DirectoryInput"},
                                    empty,
                                ]
                            }
                        }
                    },
                },
                "responses": {
                    "200": _json("DirectoryTest", "What the test found"),
                    "400": errors,
                    "409": errors,
                    "422": errors,
                    **auth,
                },
            }
        },
        "/identity/sync": {
            "post": {
                "summary": "Sync the services' accounts with the directory now",
                "description": "409 while no directory is saved or a sync is already queued "
                "or running.",
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": empty}},
                },
                "responses": {
                    "202": _json("DirectorySync", "Queued"),
                    "400": errors,
                    "409": errors,
                    "422": errors,
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
