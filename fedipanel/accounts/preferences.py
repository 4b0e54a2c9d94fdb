"""Each user's language and time zone for the pages (None follows the browser)."""

from __future__ import annotations

import zoneinfo
from functools import cache
from pathlib import Path

from fedipanel.accounts.models import User
from fedipanel.core.text import N_
from fedipanel.db import db

TRANSLATIONS = Path(__file__).resolve().parent.parent / "translations"
SOURCE_LANGUAGE = "en"
UNKNOWN_LANGUAGE = N_("Choose one of the languages offered.")
UNKNOWN_TIME_ZONE = N_("Unknown time zone: use a name such as Europe/Amsterdam or UTC.")


@cache
def available_languages() -> tuple[str, ...]:
    """Return the codes of the languages the pages can be shown in: English and each catalog."""
    catalogs = sorted(po.parent.parent.name for po in TRANSLATIONS.glob("*/LC_MESSAGES/*.po"))
    return (SOURCE_LANGUAGE, *catalogs)


@cache
def time_zones() -> frozenset[str]:
    """Return the IANA names of the time zones this system knows."""
    return frozenset(zoneinfo.available_timezones())


def known_time_zone(name: str | None) -> bool:
    """Whether `name` is a time zone this system knows."""
    return bool(name) and name in time_zones()


def preference_problems(language: str | None, time_zone: str | None) -> dict[str, str]:
    """Return the problem of each field ("language", "timeZone"); None is always fine."""
    problems = {}
    if language is not None and language not in available_languages():
        problems["language"] = UNKNOWN_LANGUAGE
    if time_zone is not None and not known_time_zone(time_zone):
        problems["timeZone"] = UNKNOWN_TIME_ZONE
    return problems


def set_preferences(user: User, language: str | None, time_zone: str | None) -> dict[str, str]:
    """Store the user's language and time zone, or return the problems and store nothing."""
    problems = preference_problems(language, time_zone)
    if problems:
        return problems
    user.language, user.time_zone = language, time_zone
    db.session.commit()
    return {}


def preferences_of(user: User) -> dict[str, str | None]:
    """Return the user's choices as the API shows them."""
    return {"language": user.language, "timeZone": user.time_zone}
