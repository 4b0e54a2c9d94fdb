"""The account's own language and time zone, for the OpenAPI document."""

from __future__ import annotations

from typing import Any

from fedipanel.accounts.preferences import available_languages, time_zones


def preferences_openapi(errors: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Return (schemas, paths) of the preferences routes."""
    language = {
        "description": "The pages' language; null follows the browser (Accept-Language)",
        "anyOf": [{"enum": list(available_languages())}, {"type": "null"}],
    }
    time_zone = {
        "description": "An IANA time zone such as Europe/Amsterdam for the times on the pages; "
        "null follows the browser, else UTC",
        "anyOf": [{"enum": sorted(time_zones())}, {"type": "null"}],
    }
    preferences = {
        "type": "object",
        "additionalProperties": False,
        "required": ["language", "timeZone"],
        "properties": {"language": language, "timeZone": time_zone},
    }
    answer = {
        "description": "The account's language and time zone",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Preferences"}}},
    }
    auth = {"401": errors, "403": errors}
    paths = {
        "/me/preferences": {
            "get": {
                "summary": "Your language and time zone for the pages",
                "description": "Operator and provider tokens.",
                "responses": {"200": answer, **auth},
            },
            "patch": {
                "summary": "Choose your language and time zone for the pages",
                "description": "Fields left out keep their value. Operator and provider tokens.",
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {**preferences, "required": []},
                        }
                    },
                },
                "responses": {"200": answer, "400": errors, "422": errors, **auth},
            },
        }
    }
    return {"Preferences": preferences}, paths
