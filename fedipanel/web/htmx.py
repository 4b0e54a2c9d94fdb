"""One template serves a full page or, for an htmx request, just the block that changes."""

from __future__ import annotations

from typing import Any

from flask import render_template, request
from jinja2_fragments.flask import render_block


def is_htmx() -> bool:
    """Return whether htmx sent this request."""
    return request.headers.get("HX-Request") == "true"


def render_page_or_block(template: str, block: str, **context: Any) -> str:
    """Render the whole page, or only `block` when htmx asks."""
    if is_htmx():
        return str(render_block(template, block, **context))
    return render_template(template, **context)
