"""The provider API's pre-configured bucket routes, for the OpenAPI document."""

from __future__ import annotations

from typing import Any

from fedipanel.core.registry import SERVICE_NAMES
from fedipanel.storage.records import RULES


def storage_openapi(errors: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Return (schemas, paths) of the pre-configured bucket routes."""
    text: dict[str, Any] = {"type": "string"}
    bucket_props = {
        "service": {"enum": list(SERVICE_NAMES)},
        "endpoint": {**text, **RULES["endpoint"]},
        "region": {**text, **RULES["region"]},
        "bucket": {**text, **RULES["bucket"]},
        "publicUrl": {"type": ["string", "null"], **RULES["public_url"]},
        "accessKeyId": {**text, **RULES["access_key_id"]},
    }
    schemas = {
        "AssignedBucket": {
            "type": "object",
            "description": "A pre-configured bucket (its secret is never returned)",
            "required": list(bucket_props),
            "properties": bucket_props,
        },
        "AssignBucket": {
            "type": "object",
            "additionalProperties": False,
            "required": ["endpoint", "region", "bucket", "accessKeyId", "secretAccessKey"],
            "properties": {
                **{k: v for k, v in bucket_props.items() if k != "service"},
                "secretAccessKey": {**text, **RULES["secret"], "writeOnly": True},
            },
        },
    }
    ref = {"$ref": "#/components/schemas/AssignedBucket"}
    operator = {"name": "operator", "in": "path", "required": True, "schema": {"type": "integer"}}
    service = {
        "name": "service",
        "in": "path",
        "required": True,
        "schema": {"enum": list(SERVICE_NAMES)},
    }
    provider_only = "Provider tokens only; operators' tokens get 403."
    answers = {"401": errors, "403": errors, "404": errors}
    paths = {
        "/operators/{operator}/buckets": {
            "get": {
                "summary": "An operator's pre-configured buckets",
                "description": provider_only,
                "parameters": [operator],
                "responses": {
                    "200": {
                        "description": "The buckets",
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "properties": {"buckets": {"type": "array", "items": ref}},
                                }
                            }
                        },
                    },
                    **answers,
                },
            }
        },
        "/operators/{operator}/buckets/{service}": {
            "put": {
                "summary": "Give an operator's service an existing bucket",
                "description": provider_only
                + " Deployments use it instead of creating buckets and a key on Garage, check "
                "access first (put, get and delete a probe object) and never delete it. A bucket "
                "serves one of the operator's services: another one's is 422 at `bucket`. Values "
                "are taken exactly: spaces around them are 422.",
                "parameters": [operator, service],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {"$ref": "#/components/schemas/AssignBucket"}
                        }
                    },
                },
                "responses": {
                    "200": {
                        "description": "Saved",
                        "content": {"application/json": {"schema": ref}},
                    },
                    "400": errors,
                    "422": errors,
                    **answers,
                },
            },
            "delete": {
                "summary": "Stop using the pre-configured bucket (the bucket is left as it is)",
                "description": provider_only,
                "parameters": [operator, service],
                "responses": {"204": {"description": "Removed"}, **answers},
            },
        },
    }
    return schemas, paths
