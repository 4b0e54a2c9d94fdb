"""Refuse form fields and query parameters holding text no database or page can take."""

from __future__ import annotations

from flask import Flask, Response, jsonify, render_template, request
from flask_babel import gettext
from werkzeug.datastructures import MultiDict

from fedipanel.core.validators import check_text
from fedipanel.web.errors import wants_json


def init_form_text(app: Flask) -> None:
    """Check every submitted field before any view reads it."""
    app.before_request(_refuse_unstorable_text)


def _refuse_unstorable_text() -> Response | tuple[str, int] | None:
    # PostgreSQL refuses a NUL in text even in a lookup, so the check cannot wait for a view.
    sources: list[tuple[str, MultiDict[str, str]]] = []
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        sources.append(("form", request.form))
    if request.query_string:
        sources.append(("query", request.args))
    for source, fields in sources:
        for name, value in fields.items(multi=True):
            try:
                check_text(name)
                check_text(value)
            except ValueError as exc:
                shown = name.encode("unicode_escape").decode("ascii")
                if wants_json():
                    response = jsonify({"errors": [{"loc": [source, shown], "msg": str(exc)}]})
                    response.status_code = 422
                    return response
                message = gettext(
                    "The field '%(field)s' %(problem)s; nothing was saved. "
                    "Remove it and try again.",
                    field=shown,
                    problem=gettext(str(exc)),
                )
                title = gettext("Not possible")
                return render_template("error.html", code=422, title=title, message=message), 422
    return None
