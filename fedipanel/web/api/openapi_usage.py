"""The provider API's usage route, for the OpenAPI document."""

from __future__ import annotations

from typing import Any

from fedipanel.core.usage import MONTH_PATTERN
from fedipanel.usage.report import COLUMNS


def usage_openapi(errors: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Return (schemas, paths) of the usage export."""
    number = {"type": "number", "minimum": 0}
    props: dict[str, Any] = {
        "operator": {"type": "integer", "description": "The operator's id"},
        "month": {"type": "string", "pattern": "^[0-9]{4}-[0-9]{2}$", "examples": ["2026-11"]},
        "vms": {"type": "integer", "minimum": 0, "description": "The most VMs at once"},
        "vcpuHours": {**number, "description": "vCPUs of running machines, integrated"},
        "memoryGibHours": {**number, "description": "Memory of running machines, integrated"},
        "diskGibDays": {**number, "description": "Disks of every machine, running or not"},
        "s3GibDays": {**number, "description": "Bytes in the Garage buckets, sampled daily"},
    }
    schemas = {
        "MonthUsage": {
            "type": "object",
            "description": "What an operator used in a calendar month (UTC), rounded to 3 "
            "decimals; for the month in progress, up to now",
            "required": list(COLUMNS),
            "properties": props,
        }
    }
    operator = {"name": "operator", "in": "path", "required": True, "schema": {"type": "integer"}}
    month = {
        "name": "month",
        "in": "query",
        "required": False,
        "description": "The calendar month, YYYY-MM (default: this month)",
        "schema": {"type": "string", "pattern": MONTH_PATTERN, "examples": ["2026-11"]},
    }
    paths = {
        "/operators/{operator}/usage": {
            "get": {
                "summary": "An operator's usage in a month",
                "description": "Provider tokens only; operators' tokens get 403. "
                "`Accept: text/csv` answers CSV: a header line and one row, same columns.",
                "parameters": [operator, month],
                "responses": {
                    "200": {
                        "description": "The month's usage",
                        "content": {
                            "application/json": {
                                "schema": {"$ref": "#/components/schemas/MonthUsage"}
                            },
                            "text/csv": {"schema": {"type": "string"}},
                        },
                    },
                    "401": errors,
                    "403": errors,
                    "404": errors,
                    "422": errors,
                },
            }
        }
    }
    return schemas, paths
