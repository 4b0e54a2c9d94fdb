"""The configuration form: its fields to the configuration JSON, and errors back to its fields."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask_babel import gettext
from pydantic import ValidationError

from fedipanel.core.configuration import error_list
from fedipanel.core.registry import SERVICE_NAMES

EMPTY: dict[str, Any] = {
    "domain": "",
    "admin": {"username": "", "email": ""},
    "services": {name: {"enable": False} for name in SERVICE_NAMES},
}


def form_to_document(form: Mapping[str, str]) -> dict[str, Any]:
    """Turn the configuration form's fields into the configuration JSON shape."""
    services: dict[str, Any] = {}
    for name in SERVICE_NAMES:
        entry: dict[str, Any] = {"enable": form.get(f"services.{name}.enable") in ("on", "true")}
        subdomain = form.get(f"services.{name}.subdomain", "").strip()
        if subdomain:
            entry["subdomain"] = subdomain
        # Nothing is deleted unless the operator picks "delete data" explicitly.
        entry["keepData"] = form.get(f"services.{name}.keepData", "true") != "false"
        services[name] = entry
    return {
        "domain": form.get("domain", "").strip(),
        "admin": {
            "username": form.get("admin.username", "").strip(),
            "email": form.get("admin.email", "").strip(),
        },
        "services": services,
    }


def field_errors(exc: ValidationError) -> dict[str, str]:
    """Map validation errors to form field names (dotted paths)."""
    errors: dict[str, str] = {}
    for err in error_list(exc):
        key = ".".join(str(part) for part in err["loc"]) or "form"
        # The core's constant messages are in the catalog (marked N_); formatted ones stay English.
        errors.setdefault(key, gettext(err["msg"]))
    return errors
