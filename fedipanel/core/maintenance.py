"""Maintenance windows: weekly slots in the operator's own time zone, and when the next one opens.

Times are computed from wall-clock slots in an IANA zone, so a slot at Sunday 02:00 in
Europe/Amsterdam stays at 02:00 local time across daylight-saving changes. A start that does not
exist on the day the clocks go forward (02:30 on the last Sunday of March) opens at the first
moment after the gap (03:00 local); a start that happens twice when they go back opens the first
time. A slot lasts `hours` of real time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from typing import Literal
from zoneinfo import ZoneInfo, available_timezones

from pydantic import BaseModel, ConfigDict, Field, field_validator

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY_NAMES = {
    "mon": "Monday",
    "tue": "Tuesday",
    "wed": "Wednesday",
    "thu": "Thursday",
    "fri": "Friday",
    "sat": "Saturday",
    "sun": "Sunday",
}
Day = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
MAX_SLOTS = 14
MAX_HOURS = 24
_START = re.compile(r"^([01][0-9]|2[0-3]):([0-5][0-9])$")


@cache
def time_zones() -> tuple[str, ...]:
    """Return the IANA time zone names a window may use, sorted (the picker lists the same)."""
    return tuple(sorted(name for name in available_timezones() if "/" in name or name == "UTC"))


class Slot(BaseModel):
    """One weekly slot: a day, a local start time and a duration in whole hours."""

    model_config = ConfigDict(extra="forbid")

    day: Day = Field(description="Day of the week, in the window's time zone")
    start: str = Field(
        pattern=_START.pattern,
        description="Local start time, HH:MM (24-hour clock)",
        examples=["02:00"],
    )
    hours: int = Field(ge=1, le=MAX_HOURS, description="How long the slot lasts, in hours")

    def start_time(self) -> time:
        """Return the local start time."""
        hour, minute = self.start.split(":")
        return time(int(hour), int(minute))


class Window(BaseModel):
    """An operator's maintenance window: one or more weekly slots in one time zone."""

    model_config = ConfigDict(extra="forbid", title="Maintenance window")

    timezone: str = Field(
        description="IANA time zone name, e.g. Europe/Amsterdam",
        examples=["Europe/Amsterdam"],
        json_schema_extra={"enum": list(time_zones())},
    )
    slots: list[Slot] = Field(min_length=1, max_length=MAX_SLOTS)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        if value not in time_zones():
            raise ValueError(f"{value!r} is not an IANA time zone name, e.g. Europe/Amsterdam")
        return value

    def zone(self) -> ZoneInfo:
        """Return the window's time zone."""
        return ZoneInfo(self.timezone)


DEFAULT_WINDOW = Window(timezone="UTC", slots=[Slot(day="sun", start="02:00", hours=2)])


@dataclass(frozen=True)
class Opening:
    """One occurrence of a slot, in UTC."""

    start: datetime
    end: datetime

    def contains(self, moment: datetime) -> bool:
        """Return whether `moment` (aware) falls within this occurrence."""
        return self.start <= moment < self.end


def aware(moment: datetime) -> datetime:
    """Return `moment` with a time zone, taking a naive one as UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def local_start(day: date, slot: Slot, zone: ZoneInfo) -> datetime:
    """Return the UTC moment a slot opens on a given local date (see the module's notes)."""
    naive = datetime.combine(day, slot.start_time())
    earlier = naive.replace(tzinfo=zone, fold=0).astimezone(UTC)
    if earlier.astimezone(zone).replace(tzinfo=None) == naive:
        return earlier
    # The wall time falls in the spring-forward gap: read with the offset after the change it
    # is a moment before the change, with the one before it a moment after; the change lies
    # between, on a whole minute.
    lo = naive.replace(tzinfo=zone, fold=1).astimezone(UTC)
    hi = earlier
    after_offset = hi.astimezone(zone).utcoffset()
    while hi - lo > timedelta(minutes=1):
        middle = lo + (hi - lo) / 2
        middle = middle.replace(second=0, microsecond=0)
        if middle <= lo:
            break
        if middle.astimezone(zone).utcoffset() == after_offset:
            hi = middle
        else:
            lo = middle
    return hi


def openings(window: Window, after: datetime, days: int = 8) -> list[Opening]:
    """Return every slot occurrence that ends after `after`, for the next `days` days, sorted.

    A naive `after` is taken as UTC, as the database stores times.
    """
    after = aware(after)
    zone = window.zone()
    today = after.astimezone(zone).date()
    found: list[Opening] = []
    for offset in range(-1, days):
        day = today + timedelta(days=offset)
        for slot in window.slots:
            if DAYS[day.weekday()] != slot.day:
                continue
            start = local_start(day, slot, zone)
            opening = Opening(start, start + timedelta(hours=slot.hours))
            if opening.end > after:
                found.append(opening)
    return sorted(set(found), key=lambda o: (o.start, o.end))


def next_opening(window: Window, after: datetime) -> Opening:
    """Return the first occurrence that has not ended at `after` (it may be open already)."""
    return openings(window, after)[0]


def first_opening_between(window: Window, earliest: datetime, deadline: datetime) -> Opening | None:
    """Return the first occurrence starting at or after `earliest` and before `deadline`."""
    earliest, deadline = aware(earliest), aware(deadline)
    span = max(8, (deadline - earliest).days + 8)
    for opening in openings(window, earliest, days=span):
        if opening.start >= earliest and opening.start < deadline:
            return opening
    return None
