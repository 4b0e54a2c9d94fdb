"""Maintenance windows: weekly slots in the operator's time zone, across daylight-saving changes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError
from sqlalchemy import select

from fedipanel.accounts.models import User
from fedipanel.audit.models import AuditEntry
from fedipanel.core.maintenance import (
    DAYS,
    Slot,
    Window,
    first_opening_between,
    next_opening,
    openings,
)
from fedipanel.db import db
from fedipanel.maintenance.models import MaintenanceWindow
from tests.helpers import Api, Auth, Factory

AMSTERDAM = ZoneInfo("Europe/Amsterdam")


def window(*slots: tuple[str, str, int], zone: str = "Europe/Amsterdam") -> Window:
    return Window(
        timezone=zone,
        slots=[Slot(day=d, start=s, hours=h) for d, s, h in slots],  # type: ignore[arg-type]
    )


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[misc]


# --- when the next slot opens -------------------------------------------------------------------


def test_winter_and_summer_slots_keep_their_local_time() -> None:
    sunday_two = window(("sun", "02:00", 2))
    winter = next_opening(sunday_two, utc(2027, 1, 5))
    summer = next_opening(sunday_two, utc(2027, 7, 5))
    assert winter.start == utc(2027, 1, 10, 1)  # CET, UTC+1
    assert summer.start == utc(2027, 7, 11, 0)  # CEST, UTC+2
    assert winter.start.astimezone(AMSTERDAM).hour == summer.start.astimezone(AMSTERDAM).hour == 2
    assert winter.end - winter.start == timedelta(hours=2)


def test_a_start_in_the_spring_forward_gap_opens_when_the_clocks_have_moved() -> None:
    # On 28 March 2027 the clocks in Amsterdam go from 02:00 CET straight to 03:00 CEST.
    opening = next_opening(window(("sun", "02:30", 2)), utc(2027, 3, 27))
    assert opening.start == utc(2027, 3, 28, 1)
    assert opening.start.astimezone(AMSTERDAM).strftime("%H:%M %Z") == "03:00 CEST"
    assert opening.end - opening.start == timedelta(hours=2)


def test_a_start_that_happens_twice_in_autumn_opens_the_first_time() -> None:
    # On 31 October 2027 the clocks go from 03:00 CEST back to 02:00 CET: 02:30 happens twice.
    opening = next_opening(window(("sun", "02:30", 2)), utc(2027, 10, 30))
    assert opening.start == utc(2027, 10, 31, 0, 30)
    assert opening.start.astimezone(AMSTERDAM).strftime("%H:%M %Z") == "02:30 CEST"
    # Two hours of real time: the local clock reads 03:30 CET at the end.
    assert opening.end.astimezone(AMSTERDAM).strftime("%H:%M %Z") == "03:30 CET"


def test_the_week_after_a_change_is_back_to_normal() -> None:
    opening = next_opening(window(("sun", "02:30", 2)), utc(2027, 3, 29))
    assert opening.start == utc(2027, 4, 4, 0, 30)


def test_an_open_slot_is_the_next_one_and_slots_come_in_order() -> None:
    both = window(("wed", "23:00", 3), ("sun", "02:00", 2))
    inside = utc(2027, 1, 6, 23)  # Wednesday 23:00 UTC = Thursday 00:00 CET, an hour in
    assert next_opening(both, inside).start == utc(2027, 1, 6, 22)
    starts = [o.start for o in openings(both, utc(2027, 1, 4), days=14)]
    assert starts == sorted(starts)
    assert len(starts) == 4


def test_first_opening_between_respects_notice_and_deadline() -> None:
    sunday = window(("sun", "02:00", 2))
    notice_over = utc(2027, 1, 10, 2)  # after this Sunday's slot opened
    found = first_opening_between(sunday, notice_over, utc(2027, 1, 20))
    assert found is not None
    assert found.start == utc(2027, 1, 17, 1)
    assert first_opening_between(sunday, notice_over, utc(2027, 1, 16)) is None


@settings(max_examples=200, deadline=None)
@given(
    zone=st.sampled_from(["Europe/Amsterdam", "America/New_York", "Australia/Lord_Howe", "UTC"]),
    day=st.sampled_from(DAYS),
    hour=st.integers(0, 23),
    minute=st.sampled_from([0, 15, 30, 45]),
    hours=st.integers(1, 24),
    after=st.datetimes(datetime(2026, 1, 1), datetime(2030, 1, 1), timezones=st.just(UTC)),
)
def test_next_opening_is_on_its_day_within_a_week_and_not_over(
    zone: str, day: str, hour: int, minute: int, hours: int, after: datetime
) -> None:
    win = window((day, f"{hour:02}:{minute:02}", hours), zone=zone)
    opening = next_opening(win, after)
    assert opening.end > after
    assert opening.start <= after + timedelta(days=8)
    assert opening.end - opening.start == timedelta(hours=hours)
    local = opening.start.astimezone(ZoneInfo(zone))
    # On its day, at its time, or just after a gap in the wall clock.
    assert DAYS[local.weekday()] == day or (local.hour, local.minute) <= (1, 0)
    assert (local.hour, local.minute) >= (hour, minute) or local.weekday() != DAYS.index(day)


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        (
            {"timezone": "Mars/Olympus", "slots": [{"day": "sun", "start": "02:00", "hours": 2}]},
            "timezone",
        ),
        (
            {
                "timezone": "../../etc/passwd",
                "slots": [{"day": "sun", "start": "02:00", "hours": 2}],
            },
            "timezone",
        ),
        ({"timezone": "UTC", "slots": []}, "slots"),
        ({"timezone": "UTC", "slots": [{"day": "sunday", "start": "02:00", "hours": 2}]}, "day"),
        ({"timezone": "UTC", "slots": [{"day": "sun", "start": "24:00", "hours": 2}]}, "start"),
        ({"timezone": "UTC", "slots": [{"day": "sun", "start": "02:00", "hours": 25}]}, "hours"),
        ({"timezone": "UTC", "slots": [{"day": "sun", "start": "02:00", "hours": 0}]}, "hours"),
        ({"timezone": "UTC", "slots": [{"day": "sun", "start": "02:00", "hours": 2, "x": 1}]}, "x"),
        ({"timezone": "UTC", "slots": [{"day": "sun", "start": "02:00", "hours": 2}], "y": 1}, "y"),
    ],
)
def test_invalid_windows_are_refused_at_the_field(body: dict, loc: str) -> None:
    with pytest.raises(ValidationError) as caught:
        Window.model_validate(body)
    assert loc in [str(part) for err in caught.value.errors() for part in err["loc"]]


# --- the API ------------------------------------------------------------------------------------

GOOD = {"timezone": "Europe/Amsterdam", "slots": [{"day": "sun", "start": "02:00", "hours": 2}]}


@pytest.fixture
def provider_api(client: FlaskClient, factory: Factory) -> Api:
    return Api(client, factory.token(factory.provider()))


def test_operator_follows_the_default_until_they_choose(
    operator_api: Api, provider_api: Api
) -> None:
    first = operator_api.get("/maintenance-window")
    assert first.status_code == 200
    assert first.json["default"] is True
    assert first.json["timezone"] == "UTC"
    provider_default = {
        "timezone": "Europe/Lisbon",
        "slots": [{"day": "sat", "start": "04:00", "hours": 3}],
    }
    assert provider_api.put("/maintenance-window/default", provider_default).status_code == 200
    followed = operator_api.get("/maintenance-window").json
    assert (followed["timezone"], followed["default"]) == ("Europe/Lisbon", True)

    saved = operator_api.put("/maintenance-window", GOOD)
    assert saved.status_code == 200, saved.json
    assert saved.json["default"] is False
    assert saved.json["slots"] == GOOD["slots"]
    start = datetime.fromisoformat(saved.json["next"]["start"])
    assert start.utcoffset() in (timedelta(hours=1), timedelta(hours=2))
    assert (start.hour, start.strftime("%a")) == (2, "Sun")
    assert operator_api.get("/maintenance-window").json["timezone"] == "Europe/Amsterdam"

    back = operator_api.client.delete("/api/v1/maintenance-window", headers=operator_api.headers)
    assert back.status_code == 200
    assert back.json["timezone"] == "Europe/Lisbon"


def test_bad_windows_get_422_and_keep_the_saved_one(operator_api: Api) -> None:
    operator_api.put("/maintenance-window", GOOD)
    bad = operator_api.put("/maintenance-window", {**GOOD, "timezone": "Nowhere/Land"})
    assert bad.status_code == 422
    assert bad.json["errors"][0]["loc"] == ["timezone"]
    unknown = operator_api.put("/maintenance-window", {**GOOD, "when": "soon"})
    assert unknown.status_code == 422
    not_json = operator_api.client.put(
        "/api/v1/maintenance-window",
        data="{",
        headers={**operator_api.headers, "Content-Type": "application/json"},
    )
    assert not_json.status_code == 400
    assert operator_api.get("/maintenance-window").json["timezone"] == "Europe/Amsterdam"


def test_roles_are_kept_apart(operator_api: Api, provider_api: Api) -> None:
    assert operator_api.put("/maintenance-window/default", GOOD).status_code == 403
    assert operator_api.get("/maintenance-window/default").status_code == 403
    assert provider_api.get("/maintenance-window").status_code == 403


def test_one_operator_does_not_change_anothers_window(
    client: FlaskClient, factory: Factory, operator_api: Api
) -> None:
    other = Api(client, factory.token(factory.operator("other@beta.example", slug="beta")))
    operator_api.put("/maintenance-window", GOOD)
    assert other.get("/maintenance-window").json["default"] is True


def test_the_openapi_document_lists_the_routes(operator_api: Api) -> None:
    paths = operator_api.get("/openapi.json").json["paths"]
    assert set(paths["/maintenance-window"]) == {"get", "put", "delete"}
    assert set(paths["/maintenance-window/default"]) == {"get", "put"}


# --- the pages ----------------------------------------------------------------------------------


def test_page_saves_shows_next_and_keeps_all_errors(
    app: Flask, client: FlaskClient, factory: Factory, auth: Auth
) -> None:
    operator = factory.operator()
    auth.login("op@acme.example")
    page = client.get("/maintenance")
    assert page.status_code == 200
    assert b"provider's default window" in page.data

    bad = client.post(
        "/maintenance",
        data={
            "timezone": "Nowhere/Land",
            "slot-0-day": "sun",
            "slot-0-start": "02:00",
            "slot-0-hours": "99",
            "slot-1-day": "wed",
            "slot-1-start": "",
            "slot-1-hours": "",
        },
    )
    assert bad.status_code == 400
    text = bad.get_data(as_text=True)
    assert "is not an IANA time zone name" in text
    assert "less than or equal to 24" in text
    assert 'value="Nowhere/Land"' in text
    assert 'value="99"' in text

    good = client.post(
        "/maintenance",
        data={
            "timezone": "Europe/Amsterdam",
            "slot-0-day": "sat",
            "slot-0-start": "03:15",
            "slot-0-hours": "1",
        },
        follow_redirects=True,
    )
    assert good.status_code == 200
    assert "Your maintenance window is saved." in good.get_data(as_text=True)
    assert "Saturday" in good.get_data(as_text=True)
    with app.app_context():
        row = db.session.scalar(
            select(MaintenanceWindow).where(MaintenanceWindow.operator_id == operator)
        )
        assert row is not None
        assert row.slots == [{"day": "sat", "start": "03:15", "hours": 1}]
        actions = db.session.scalars(select(AuditEntry.action)).all()
        assert "maintenance_window.changed" in actions

    dashboard = client.get("/dashboard").get_data(as_text=True)
    assert 'id="maintenance-window"' in dashboard
    assert "Europe/Amsterdam" in dashboard

    client.post("/maintenance", data={"use_default": "1"})
    assert b"provider's default window" in client.get("/maintenance").data


def test_provider_sets_the_default_on_the_same_page(
    app: Flask, client: FlaskClient, factory: Factory, auth: Auth
) -> None:
    factory.provider()
    auth.login("admin@provider.example")
    saved = client.post(
        "/maintenance",
        data={
            "timezone": "Europe/Berlin",
            "slot-0-day": "tue",
            "slot-0-start": "01:00",
            "slot-0-hours": "4",
        },
        follow_redirects=True,
    )
    assert "The default maintenance window is saved." in saved.get_data(as_text=True)
    with app.app_context():
        row = db.session.scalar(
            select(MaintenanceWindow).where(MaintenanceWindow.operator_id.is_(None))
        )
        assert row is not None
        assert row.timezone == "Europe/Berlin"


def test_the_window_goes_with_the_account(app: Flask, factory: Factory, operator_api: Api) -> None:
    operator_api.put("/maintenance-window", GOOD)
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == "op@acme.example"))
        db.session.delete(user)
        db.session.commit()
        assert db.session.scalars(select(MaintenanceWindow)).all() == []
