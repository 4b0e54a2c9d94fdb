"""Languages and times on the pages: Flask-Babel, and the filters that show a time."""

from __future__ import annotations

import datetime as dt
from functools import lru_cache

from babel import Locale, dates
from flask import Flask
from flask_babel import Babel, get_locale, get_timezone

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
    return _datetime(value, style, get_locale(), get_timezone())


def day(value: dt.date | dt.datetime | None, style: str = "medium") -> str:
    """Show a date in the user's language ("" for none)."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        value = value.date()  # as Babel does; equal instants in other zones fall on other days
    return _date(value, style, get_locale())


# Babel spends ~0.1 ms per time shown; a list page shows the same rows again and again. The
# result depends only on the arguments, so a cache of recent ones is exact.
@lru_cache(maxsize=8192)
def _datetime(value: dt.datetime, style: str, locale: Locale | None, zone: dt.tzinfo) -> str:
    return dates.format_datetime(value, style, tzinfo=zone, locale=locale)


@lru_cache(maxsize=2048)
def _date(value: dt.date, style: str, locale: Locale | None) -> str:
    return dates.format_date(value, style, locale=locale)
