"""Languages and times on the pages: Flask-Babel, its selectors, and the filters that show a time.

The language is the user's choice, else the browser's best match among the catalogs, else
English; the time zone is the user's choice, else the one the browser reports (a cookie set by
static/timezone.js), else UTC.
"""

from __future__ import annotations

import datetime as dt
import os
import tempfile
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path

from babel import Locale, dates
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask import Flask, has_request_context, request
from flask_babel import Babel, get_locale, get_timezone, gettext
from flask_login import current_user

from fedipanel.accounts.preferences import (
    SOURCE_LANGUAGE,
    TRANSLATIONS,
    available_languages,
    known_time_zone,
)
from fedipanel.core.text import N_

babel = Babel()
TIME_ZONE_COOKIE = "fedipanel_tz"
# The states and plan actions the pages show as badges; stored and sent in the API as in English.
STATES = {
    word: word
    for word in (
        N_("queued"),
        N_("running"),
        N_("succeeded"),
        N_("failed"),
        N_("cancelled"),
        N_("active"),
        N_("paused"),
        N_("finished"),
        N_("notified"),
        N_("scheduled"),
        N_("overdue"),
        N_("blocked"),
        N_("skipped"),
        N_("create"),
        N_("update"),
        N_("delete"),
        N_("keep"),
    )
}


def init_i18n(app: Flask) -> None:
    """Bind Flask-Babel to `app` and add the `when` and `day` filters for templates."""
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = str(compiled_catalogs(Path(app.instance_path)))
    babel.init_app(
        app,
        default_locale=SOURCE_LANGUAGE,
        default_timezone="UTC",
        locale_selector=select_language,
        timezone_selector=select_time_zone,
    )
    # {% trans %} blocks span lines: their whitespace is folded, as the extraction folds it.
    app.jinja_env.policies["ext.i18n.trimmed"] = True
    app.jinja_env.filters["when"] = when
    app.jinja_env.filters["day"] = day
    app.jinja_env.filters["when_in"] = when_in
    app.jinja_env.filters["state"] = state
    app.jinja_env.filters["translate"] = translate
    app.jinja_env.globals["page_language"] = page_language


def _chooser() -> object | None:
    """Return the logged-in user of a page request, or None."""
    if not has_request_context():
        return None
    user = current_user._get_current_object()
    return user if getattr(user, "is_authenticated", False) else None


def select_language() -> str:
    """Return the user's language, else the browser's best among the catalogs, else English."""
    languages = available_languages()
    chosen = getattr(_chooser(), "language", None)
    if chosen in languages:
        return str(chosen)
    if not has_request_context():
        return SOURCE_LANGUAGE
    return request.accept_languages.best_match(languages) or SOURCE_LANGUAGE


def page_language() -> str:
    """Return the language of this page, for <html lang>."""
    return str(get_locale() or SOURCE_LANGUAGE).replace("_", "-")


def select_time_zone() -> str:
    """Return the user's time zone, else the browser's (its cookie), else UTC."""
    chosen = getattr(_chooser(), "time_zone", None)
    if known_time_zone(chosen):
        return str(chosen)
    reported = request.cookies.get(TIME_ZONE_COOKIE) if has_request_context() else None
    return str(reported) if known_time_zone(reported) else "UTC"


def compiled_catalogs(instance: Path) -> Path:
    """Return a directory with every catalog compiled (.mo), compiling those missing or older.

    The .mo files are build products, not in git: they are made beside the .po files on first
    start, or in the instance folder when the package is read-only.
    """
    for target in (TRANSLATIONS, instance / "translations"):
        try:
            for po in TRANSLATIONS.glob("*/LC_MESSAGES/*.po"):
                _compile(po, target / po.relative_to(TRANSLATIONS).with_suffix(".mo"))
        except OSError:
            continue
        return target
    return TRANSLATIONS


def _compile(po: Path, mo: Path) -> None:
    """Write `po` compiled to `mo` unless `mo` is newer; atomically, as workers start at once."""
    if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
        return
    mo.parent.mkdir(parents=True, exist_ok=True)
    with po.open("rb") as source:
        catalog = read_po(source)
    handle, temporary = tempfile.mkstemp(dir=mo.parent, suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as out:
            write_mo(out, catalog)
        os.replace(temporary, mo)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def when(value: dt.datetime | str | None, style: str = "medium") -> str:
    """Show a stored UTC time (or its ISO 8601 text, as the API gives it) in the user's time zone
    and language ("" for none)."""
    if value is None:
        return ""
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
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


def when_in(value: dt.datetime, zone: dt.tzinfo, pattern: str = "medium") -> str:
    """Show a time in a given zone (a maintenance window's own), in the user's language."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return dates.format_datetime(value, pattern, tzinfo=zone, locale=get_locale())


def state(value: object) -> str:
    """Show a state or plan action (queued, succeeded, create...) in the user's language."""
    word = str(value)
    return gettext(STATES[word]) if word in STATES else word


def translate(value: object) -> str:
    """Show a marked message (a deployment's phase...) in the user's language; "" stays ""."""
    text = "" if value is None else str(value)
    return gettext(text) if text else text


def translated(problems: Mapping[str, str]) -> dict[str, str]:
    """Return each field's message in the user's language (as it is when not in the catalog)."""
    return {key: gettext(message) if message else message for key, message in problems.items()}
