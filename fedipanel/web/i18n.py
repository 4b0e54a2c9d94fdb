"""Languages and times on the pages: Flask-Babel, and the filters that show a time."""

from __future__ import annotations

import datetime as dt

from flask import Flask
from flask_babel import Babel, format_date, format_datetime

babel = Babel()


def init_i18n(app: Flask) -> None:
    """Bind Flask-Babel to `app` and add the `when` and `day` filters for templates."""
    babel.init_app(app, default_locale="en", default_timezone="UTC")
    app.jinja_env.filters["when"] = when
    app.jinja_env.filters["day"] = day


def when(value: dt.datetime | None, style: str = "medium") -> str:
    """Show a stored UTC time in the user's time zone and language ("" for none)."""
    if value is None:
        return ""
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return format_datetime(value, style)


def day(value: dt.date | dt.datetime | None, style: str = "medium") -> str:
    """Show a date in the user's language ("" for none)."""
    if value is None:
        return ""
    return format_date(value, style)
