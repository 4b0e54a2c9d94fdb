"""Reading a request's JSON body and query parameters; bad ones are refused naming the field."""

from __future__ import annotations

from typing import Any

from flask import request

from fedipanel.errors import PanelError, Refused


class BadRequest(PanelError):
    """The request cannot be read at all (no JSON body); answered with 400."""


def json_body() -> Any:
    """Return the request's JSON body; refuse a request without one."""
    body = request.get_json(silent=True)
    if body is None:
        raise BadRequest("the request body must be JSON", loc=("body",))
    return body


def int_arg(
    name: str, *, default: int | None = None, low: int = 1, high: int = 10**18
) -> int | None:
    """Return the query parameter `name` as a whole number within [low, high], or `default`."""
    text = request.args.get(name, "").strip()
    if not text:
        return default
    if not text.isdigit() or len(text) > len(str(high)) or not low <= int(text) <= high:
        raise Refused(f"must be a whole number from {low} to {high}", loc=(name,))
    return int(text)
