"""Links of long lists: each kind of link built once per page, every row's id put in its place."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask, url_for

# An id no row has, so that it appears once in the built URL, exactly where the id goes.
_MARK = 987_654_321_987_654_321


def init_links(app: Flask) -> None:
    """Offer `row_link` to templates."""
    app.jinja_env.globals["row_link"] = row_link


def row_link(endpoint: str, key: str, **values: Any) -> Callable[[int], str]:
    """Return a function of an id giving url_for(endpoint, **{key: id}, **values).

    A list of 50 rows with five links each spends most of its time in url_for otherwise.
    `key` names an `<int:...>` part of the route: the id is written as url_for writes it.
    """
    arguments: dict[str, Any] = {**values, key: _MARK}
    built = url_for(endpoint, **arguments)
    before, found, after = built.partition(str(_MARK))
    if not found:
        raise ValueError(f"{endpoint} has no <int:{key}> in its path")
    return lambda row_id: f"{before}{int(row_id)}{after}"
