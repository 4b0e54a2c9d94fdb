"""The Account page's language and time zone: the form and what it saves."""

from __future__ import annotations

from typing import Any

from babel import Locale
from flask_babel import gettext, refresh
from werkzeug.datastructures import MultiDict

from fedipanel.accounts.models import User
from fedipanel.accounts.preferences import available_languages, set_preferences, time_zones
from fedipanel.audit.log import Action
from fedipanel.web.audit import audit


def preference_form(user: User, values: dict[str, str] | None = None) -> dict[str, Any]:
    """Return what the Account page's "Language and time zone" section shows."""
    chosen = values or {"language": user.language or "", "timeZone": user.time_zone or ""}
    return {
        # Each language in its own words, so that anyone finds theirs.
        "languages": [
            (code, (Locale.parse(code).get_display_name(code) or code).capitalize())
            for code in available_languages()
        ],
        "time_zones": sorted(time_zones()),
        "preferences": chosen,
    }


def save_from_form(user: User, form: MultiDict[str, str]) -> tuple[dict[str, str], dict[str, str]]:
    """Save the form's language and time zone (empty: follow the browser).

    Return the translated problems by field (nothing saved) and the values as sent.
    """
    values = {key: form.get(key, "").strip() for key in ("language", "timeZone")}
    problems = set_preferences(user, values["language"] or None, values["timeZone"] or None)
    if problems:
        return {key: gettext(message) for key, message in problems.items()}, values
    audit(Action.PREFERENCES_CHANGED, language=user.language, time_zone=user.time_zone)
    refresh()  # the answer's flash message is already in the new language
    return {}, values
