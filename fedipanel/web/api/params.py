"""Reading a request's JSON body and query parameters; bad ones are refused naming the field."""

from __future__ import annotations

from typing import Any

from flask import request

from fedipanel.core.validators import whole_number
from fedipanel.errors import PanelError, Refused


class BadRequest(PanelError):
    """The request cannot be read at all (no JSON body); answered with 400."""


MAX_JSON_DEPTH = 32


def json_body() -> Any:
    """Return the request's JSON body; refuse one that is missing, malformed or nested too deeply.

    Every API route that reads a body reads it here, so every parse failure answers 400.
    """
    too_deep = f"the request body must not nest arrays and objects more than {MAX_JSON_DEPTH} deep"
    try:
        body = request.get_json(silent=True)
    except RecursionError:
        # The JSON decoder recurses per level and `silent` only covers decoding errors.
        raise BadRequest(too_deep, loc=("body",)) from None
    if body is None:
        raise BadRequest("the request body must be JSON", loc=("body",))
    if _depth(body) > MAX_JSON_DEPTH:
        raise BadRequest(too_deep, loc=("body",))
    return body


def json_object() -> dict[str, Any]:
    """Return the request's JSON body, which must be an object."""
    body = json_body()
    if not isinstance(body, dict):
        raise BadRequest("the request body must be a JSON object", loc=("body",))
    return body


def json_fields(*allowed: str) -> dict[str, Any]:
    """Return the request's JSON object; refuse a field other than `allowed` (422 at its name)."""
    body = json_object()
    unknown = sorted(set(body) - set(allowed))
    if unknown:
        raise Refused(f"unknown field {unknown[0]!r}", loc=(unknown[0],))
    return body


def _depth(value: Any) -> int:
    """Return how deeply arrays and objects nest in `value`, without recursing."""
    deepest, pending = 0, [(value, 1)]
    while pending:
        item, level = pending.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, level)
            children = item.values() if isinstance(item, dict) else item
            pending.extend((child, level + 1) for child in children)
    return deepest


def query_args(*allowed: str) -> None:
    """Refuse a query parameter other than `allowed` (422 at its name), as bodies do, and one
    that is empty or padded with spaces: API values are taken exactly as the document states."""
    unknown = sorted(set(request.args) - set(allowed))
    if unknown:
        raise Refused(f"unknown query parameter {unknown[0]!r}", loc=(unknown[0],))
    for name, text in request.args.items(multi=True):
        if not text or text != text.strip():
            raise Refused(f"{name} must not be empty or padded with spaces", loc=(name,))


def int_arg(
    name: str, *, default: int | None = None, low: int = 1, high: int = 10**18
) -> int | None:
    """Return the query parameter `name` as a whole number within [low, high], or `default`
    (routes call `query_args` first, which refuses empty and padded values)."""
    text = request.args.get(name, "")
    if not text:
        return default
    try:
        return whole_number(text, low, high)
    except ValueError as exc:
        raise Refused(str(exc), loc=(name,)) from None
