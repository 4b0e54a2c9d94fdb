"""The operator API's notice and webhook routes, for the OpenAPI document."""

from __future__ import annotations

from typing import Any

from fedipanel.providers.webhook_send import MAX_URL, url_pattern


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def notices_openapi(
    errors: dict[str, Any], *, allow_http_loopback: bool = False
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Return (schemas, paths) of the notices and the webhook."""
    notice_props: dict[str, Any] = {
        "id": {"type": "integer"},
        "kind": {"type": "string", "examples": ["rollout.scheduled", "rollout.result"]},
        "title": {"type": "string"},
        "text": {"type": "string", "description": "What happened, in plain words"},
        "payload": {"type": "object", "description": "Details for scripts; depends on `kind`"},
        "createdAt": {"type": "string", "format": "date-time"},
        "read": {"type": "boolean"},
    }
    url = {"type": "string", "format": "uri", "examples": ["https://hooks.acme.example/panel"]}
    schemas = {
        "Notice": {"type": "object", "required": list(notice_props), "properties": notice_props},
        "Webhook": {"type": "object", "required": ["url"], "properties": {"url": url}},
        "WebhookWithSecret": {
            "type": "object",
            "required": ["url", "secret"],
            "properties": {
                "url": url,
                "secret": {
                    "type": "string",
                    "pattern": "^whsec_",
                    "description": "The Standard Webhooks signing secret, shown this once",
                },
            },
        },
    }
    url_input = {
        **url,
        "maxLength": MAX_URL,
        "pattern": url_pattern(allow_http_loopback=allow_http_loopback),
    }
    ref = {"$ref": "#/components/schemas/Notice"}
    auth = {"401": errors, "403": errors}
    notice_id = {"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}
    paths = {
        "/notices": {
            "get": {
                "summary": "The operator's notices, newest first",
                "responses": {
                    "200": _json(
                        {
                            "type": "object",
                            "required": ["notices"],
                            "properties": {"notices": {"type": "array", "items": ref}},
                        },
                        "Notices",
                    ),
                    **auth,
                },
            }
        },
        "/notices/{id}/read": {
            "post": {
                "summary": "Mark a notice read",
                "parameters": [notice_id],
                "responses": {"200": _json(ref, "The notice, read"), "404": errors, **auth},
            }
        },
        "/webhook": {
            "get": {
                "summary": "The operator's webhook (never its secret)",
                "responses": {
                    "200": _json({"$ref": "#/components/schemas/Webhook"}, "The webhook"),
                    "404": errors,
                    **auth,
                },
            },
            "put": {
                "summary": "Register or replace the webhook; answers a new signing secret once",
                "description": "Every notice is also POSTed to the URL as JSON `{type, "
                "timestamp, data: {id, title, text, payload}}`, signed per Standard Webhooks "
                "(`webhook-id`, `webhook-timestamp`, `webhook-signature`). HTTPS only (http:// to "
                "loopback too when the provider set FEDIPANEL_WEBHOOK_ALLOW_HTTP); redirects are "
                'not followed. A bad URL is 422 at `loc` `["url"]`.',
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "additionalProperties": False,
                                "required": ["url"],
                                "properties": {"url": url_input},
                            }
                        }
                    },
                },
                "responses": {
                    "200": _json({"$ref": "#/components/schemas/WebhookWithSecret"}, "Registered"),
                    "400": errors,
                    "422": errors,
                    **auth,
                },
            },
            "delete": {
                "summary": "Remove the webhook",
                "responses": {"204": {"description": "Removed"}, "404": errors, **auth},
            },
        },
    }
    return schemas, paths
