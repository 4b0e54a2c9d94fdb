"""Usage arithmetic: levels recorded as time-stamped samples, integrated over calendar months.

A level (cores, bytes on S3, ...) is piecewise constant: a sample says "from this moment on, the
level is this", until the next sample; before the first sample it is 0. Integrals are exact:
whole values times whole microseconds, turned into hours or days as fractions.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from fractions import Fraction
from typing import Any

from fedipanel.core.planner import KEPT


class Metric(enum.StrEnum):
    """One level FediPanel records per operator."""

    VMS = "vms"
    CORES = "cores"
    MEMORY_MIB = "memory_mib"
    DISK_GIB = "disk_gib"
    S3_BYTES = "s3_bytes"


MACHINE_METRICS = (Metric.VMS, Metric.CORES, Metric.MEMORY_MIB, Metric.DISK_GIB)
MICROSECOND = timedelta(microseconds=1)
MICROSECONDS_PER_HOUR = 3600 * 10**6
MICROSECONDS_PER_DAY = 24 * MICROSECONDS_PER_HOUR
GIB = 2**30
# Months a report can name: the end of the last one is still a datetime.
FIRST_YEAR, LAST_YEAR = 1970, 9998
_MONTH = re.compile(r"([0-9]{4})-([0-9]{2})")
# The months Month.parse accepts, as a JSON Schema pattern for the API document.
MONTH_PATTERN = (
    r"^(19[7-9][0-9]|[2-8][0-9]{3}|9[0-8][0-9]{2}|99[0-8][0-9]|999[0-8])-(0[1-9]|1[0-2])$"
)


@dataclass(frozen=True)
class Sample:
    """From `at` on (naive UTC), the level is `value`, until the next sample."""

    at: datetime
    value: int


@dataclass(frozen=True, order=True)
class Month:
    """A calendar month in UTC."""

    year: int
    month: int

    @classmethod
    def parse(cls, text: str) -> Month:
        """Read `2026-11`; anything else raises ValueError with a message for the user."""
        found = _MONTH.fullmatch(text.strip())
        if found is None or not 1 <= int(found.group(2)) <= 12:
            raise ValueError("must be a calendar month written YYYY-MM, such as 2026-11")
        year = int(found.group(1))
        if not FIRST_YEAR <= year <= LAST_YEAR:
            raise ValueError(f"must be a month from {FIRST_YEAR}-01 to {LAST_YEAR}-12")
        return cls(year, int(found.group(2)))

    @classmethod
    def of(cls, moment: datetime) -> Month:
        """Return the month `moment` falls in."""
        return cls(moment.year, moment.month)

    @property
    def start(self) -> datetime:
        return datetime(self.year, self.month, 1)

    @property
    def end(self) -> datetime:
        """Return the first moment of the next month."""
        if self.month == 12:
            return datetime(self.year + 1, 1, 1)
        return datetime(self.year, self.month + 1, 1)

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"


def _segments(
    samples: Iterable[Sample], start: datetime, end: datetime
) -> Iterator[tuple[int, int]]:
    """Yield (level, microseconds) for each stretch of [start, end) with a constant level."""
    level, cursor = 0, start
    for sample in sorted(samples, key=lambda s: s.at):  # stable: the later of equal times wins
        if sample.at <= start:
            level = sample.value
            continue
        if sample.at >= end:
            break
        if sample.at > cursor:
            yield level, (sample.at - cursor) // MICROSECOND
        level, cursor = sample.value, sample.at
    if end > cursor:
        yield level, (end - cursor) // MICROSECOND


def integral(samples: Iterable[Sample], start: datetime, end: datetime) -> int:
    """Return the level integrated over [start, end), in value-microseconds (0 if empty)."""
    return sum(level * length for level, length in _segments(samples, start, end))


def peak(samples: Iterable[Sample], start: datetime, end: datetime) -> int:
    """Return the highest level held for any time during [start, end) (0 if empty)."""
    return max((level for level, _length in _segments(samples, start, end)), default=0)


@dataclass(frozen=True)
class Totals:
    """What an operator used over a span of time, exactly."""

    vms: int  # the most VMs at once
    vcpu_hours: Fraction
    memory_gib_hours: Fraction
    disk_gib_days: Fraction
    s3_gib_days: Fraction


def totals(series: Mapping[Metric, Sequence[Sample]], start: datetime, end: datetime) -> Totals:
    """Integrate each metric's samples over [start, end)."""

    def area(metric: Metric) -> int:
        return integral(series.get(metric, ()), start, end)

    return Totals(
        vms=peak(series.get(Metric.VMS, ()), start, end),
        vcpu_hours=Fraction(area(Metric.CORES), MICROSECONDS_PER_HOUR),
        memory_gib_hours=Fraction(area(Metric.MEMORY_MIB), 1024 * MICROSECONDS_PER_HOUR),
        disk_gib_days=Fraction(area(Metric.DISK_GIB), MICROSECONDS_PER_DAY),
        s3_gib_days=Fraction(area(Metric.S3_BYTES), GIB * MICROSECONDS_PER_DAY),
    )


def month_totals(series: Mapping[Metric, Sequence[Sample]], month: Month, now: datetime) -> Totals:
    """Return the month's totals; for the month in progress, up to `now` (a later one is 0)."""
    return totals(series, month.start, min(month.end, now))


def machine_levels(specs: Iterable[Mapping[str, Any]]) -> dict[Metric, int]:
    """Return what machines of these specs use now.

    Every machine counts as a VM and with its disk; only running ones count with their cores
    and memory: a machine kept for a disabled service (`"kept": true`) is shut down.
    """
    machines = list(specs)
    running = [spec for spec in machines if not spec.get(KEPT) and spec.get("running") is not False]
    return {
        Metric.VMS: len(machines),
        Metric.CORES: sum(int(spec.get("cores", 0)) for spec in running),
        Metric.MEMORY_MIB: sum(int(spec.get("memory_mib", 0)) for spec in running),
        Metric.DISK_GIB: sum(int(spec.get("disk_gib", 0)) for spec in machines),
    }
