"""The operator API's test mail route, for the OpenAPI document."""

from __future__ import annotations

from typing import Any


def mail_openapi(errors: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Return (schemas, paths) of the test mail."""
    text = {"type": "string"}
    schemas = {
        "TestMail": {
            "type": "object",
            "description": "What the provider's relay answered to the signed test message",
            "required": ["accepted", "recipient", "from", "relay", "code", "reply", "dkim"],
            "properties": {
                "accepted": {"type": "boolean", "description": "The relay took the message"},
                "recipient": {**text, "description": "The configuration's admin email"},
                "from": {**text, "description": "The sender, as the services send"},
                "relay": {**text, "description": "host:port of the relay"},
                "code": {"type": "integer", "description": "The relay's SMTP reply code"},
                "reply": {**text, "description": "The relay's reply text, or its refusal"},
                "dkim": {**text, "examples": ["d=acme.example s=fedipanel"]},
            },
        }
    }
    paths = {
        "/mail/test": {
            "post": {
                "summary": "Send a DKIM-signed test message to the administrator's email",
                "description": "Signs with the operator's DKIM key (d=<domain>, generated on "
                "first use) and hands the message to the provider's relay over TLS. 200 with "
                "`accepted` false when the relay refused the message; 409 when no relay is "
                "configured or no configuration is saved; 503 when the relay cannot be reached "
                "or refuses the login.",
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "additionalProperties": False,
                                "description": "{}",
                            }
                        }
                    },
                },
                "responses": {
                    "200": {
                        "description": "The relay's answer",
                        "content": {
                            "application/json": {
                                "schema": {"$ref": "#/components/schemas/TestMail"}
                            }
                        },
                    },
                    "400": errors,
                    "401": errors,
                    "403": errors,
                    "409": errors,
                    "422": errors,
                    "503": errors,
                },
            }
        }
    }
    return schemas, paths
