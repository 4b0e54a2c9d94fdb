"""The `when` and `day` filters: what Babel shows, in the request's language and time zone."""

from __future__ import annotations

import datetime as dt

from babel import dates
from flask import Flask
from flask_babel import get_babel

from fedipanel.web.i18n import day, when

NOON = dt.datetime(2026, 3, 1, 12, 0)  # stored times are naive UTC


def test_when_shows_the_time_in_the_requests_zone_each_time(app: Flask) -> None:
    """Shown once in UTC, the same time in another zone is not taken from an earlier answer."""
    with app.test_request_context():
        assert when(NOON) == dates.format_datetime(NOON.replace(tzinfo=dt.UTC), "medium", "UTC")
    get_babel(app).timezone_selector = lambda: "Europe/Amsterdam"
    with app.test_request_context():
        shown = when(NOON)
    assert shown == dates.format_datetime(
        NOON.replace(tzinfo=dt.UTC), "medium", tzinfo=dates.get_timezone("Europe/Amsterdam")
    )
    assert "1:00:00" in shown


def test_when_and_day_follow_the_requests_language(app: Flask) -> None:
    with app.test_request_context():
        assert when(NOON, "long").startswith("March 1, 2026")
        assert day(NOON) == "Mar 1, 2026"
    get_babel(app).locale_selector = lambda: "de"
    with app.test_request_context():
        assert when(NOON, "long").startswith("1. März 2026")
        assert day(NOON) == "01.03.2026"


def test_day_of_equal_instants_in_different_zones(app: Flask) -> None:
    late = dt.datetime(2026, 3, 1, 23, 30, tzinfo=dt.UTC)
    early = late.astimezone(dt.timezone(dt.timedelta(hours=2)))
    assert late == early
    with app.test_request_context():
        assert day(late) == "Mar 1, 2026"
        assert day(early) == "Mar 2, 2026"


def test_nothing_shows_as_empty(app: Flask) -> None:
    with app.test_request_context():
        assert when(None) == ""
        assert day(None) == ""
