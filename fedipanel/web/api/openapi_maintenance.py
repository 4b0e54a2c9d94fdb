"""The maintenance-window routes, for the OpenAPI document."""

from __future__ import annotations

from typing import Any

from fedipanel.core.maintenance import Slot, Window


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def maintenance_openapi(errors: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Return (schemas, paths) of the maintenance-window routes."""
    window = Window.model_json_schema(ref_template="#/components/schemas/{model}")
    window.pop("$defs", None)
    slot = Slot.model_json_schema(ref_template="#/components/schemas/{model}")
    moment = {"type": "string", "format": "date-time"}
    schemas = {
        "MaintenanceSlot": slot,
        "MaintenanceWindow": {**window, "properties": {**window["properties"]}},
        "EffectiveMaintenanceWindow": {
            "type": "object",
            "description": "The window that applies, whether it is the provider's default, and "
            "its next occurrence in the window's time zone",
            "required": ["timezone", "slots", "default", "next"],
            "properties": {
                **window["properties"],
                "default": {"type": "boolean"},
                "next": {
                    "type": "object",
                    "required": ["start", "end"],
                    "properties": {"start": moment, "end": moment},
                },
            },
        },
    }
    schemas["MaintenanceWindow"]["properties"]["slots"] = {
        **window["properties"]["slots"],
        "items": {"$ref": "#/components/schemas/MaintenanceSlot"},
    }
    schemas["EffectiveMaintenanceWindow"]["properties"]["slots"] = schemas["MaintenanceWindow"][
        "properties"
    ]["slots"]
    effective = _json({"$ref": "#/components/schemas/EffectiveMaintenanceWindow"}, "The window")
    plain = _json({"$ref": "#/components/schemas/MaintenanceWindow"}, "The default window")
    body = {
        "required": True,
        "content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/MaintenanceWindow"}}
        },
    }
    auth = {"401": errors, "403": errors}
    paths = {
        "/maintenance-window": {
            "get": {
                "summary": "The operator's maintenance window (or the provider's default)",
                "responses": {"200": effective, **auth},
            },
            "put": {
                "summary": "Set the operator's maintenance window",
                "requestBody": body,
                "responses": {"200": effective, "400": errors, "422": errors, **auth},
            },
            "delete": {
                "summary": "Follow the provider's default window again",
                "responses": {"200": effective, **auth},
            },
        },
        "/maintenance-window/default": {
            "get": {
                "summary": "The provider's default window (provider tokens only)",
                "responses": {"200": plain, **auth},
            },
            "put": {
                "summary": "Set the provider's default window (provider tokens only)",
                "requestBody": body,
                "responses": {"200": plain, "400": errors, "422": errors, **auth},
            },
        },
    }
    return schemas, paths
