"""The pure usage arithmetic: piecewise-constant levels integrated exactly over months."""

from __future__ import annotations

from datetime import datetime, timedelta
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fedipanel.core.usage import (
    Metric,
    Month,
    Sample,
    integral,
    machine_levels,
    month_totals,
    peak,
    totals,
)

NOV = Month(2026, 11)
ORIGIN = datetime(2026, 9, 1)
SPAN = timedelta(days=150)  # September 2026 to January 2027

moments = st.timedeltas(min_value=timedelta(0), max_value=SPAN).map(lambda d: ORIGIN + d)
samples = st.lists(
    st.builds(Sample, at=moments, value=st.integers(min_value=0, max_value=10**13)), max_size=30
)


def test_a_constant_level_over_a_whole_month() -> None:
    series = {
        Metric.VMS: [Sample(datetime(2026, 10, 20), 2)],
        Metric.CORES: [Sample(datetime(2026, 10, 20), 6)],
        Metric.MEMORY_MIB: [Sample(datetime(2026, 10, 20), 12288)],
        Metric.DISK_GIB: [Sample(datetime(2026, 10, 20), 100)],
        Metric.S3_BYTES: [Sample(datetime(2026, 10, 20), 3 * 2**30)],
    }
    found = month_totals(series, NOV, now=datetime(2027, 1, 5))
    assert found.vms == 2
    assert found.vcpu_hours == 6 * 30 * 24
    assert found.memory_gib_hours == 12 * 30 * 24
    assert found.disk_gib_days == 100 * 30
    assert found.s3_gib_days == 3 * 30


def test_the_month_starts_at_the_level_last_sampled_before_it() -> None:
    cores = [
        Sample(datetime(2026, 9, 1), 100),  # superseded before November
        Sample(datetime(2026, 10, 31, 23), 4),  # the level when November starts
        Sample(datetime(2026, 11, 11), 8),  # 10 days at 4, then 8
        Sample(datetime(2026, 11, 21, 12), 0),  # 10.5 days at 8, then nothing
        Sample(datetime(2026, 12, 1), 50),  # December's, not November's
    ]
    found = month_totals({Metric.CORES: cores}, NOV, now=datetime(2026, 12, 24))
    assert found.vcpu_hours == 4 * 10 * 24 + 8 * Fraction(21, 2) * 24


def test_the_month_in_progress_counts_up_to_now_and_a_later_month_counts_nothing() -> None:
    disk = [Sample(datetime(2026, 10, 1), 40)]
    now = datetime(2026, 11, 3, 6)
    assert month_totals({Metric.DISK_GIB: disk}, NOV, now).disk_gib_days == 40 * Fraction(9, 4)
    assert month_totals({Metric.DISK_GIB: disk}, Month(2026, 12), now).disk_gib_days == 0
    assert month_totals({Metric.VMS: [Sample(now, 3)]}, Month(2026, 12), now).vms == 0


def test_vms_are_the_most_held_at_once_and_a_momentary_level_does_not_count() -> None:
    vms = [
        Sample(datetime(2026, 10, 5), 2),
        Sample(datetime(2026, 11, 10), 5),
        Sample(datetime(2026, 11, 12), 1),
        Sample(datetime(2026, 11, 20), 9),  # replaced in the same instant: held for no time
        Sample(datetime(2026, 11, 20), 3),
    ]
    assert peak(vms, NOV.start, NOV.end) == 5
    assert peak(vms, datetime(2026, 11, 12), NOV.end) == 3
    assert peak(vms, datetime(2026, 10, 1), datetime(2026, 10, 5)) == 0


@given(samples, moments, moments, moments)
def test_integrals_add_up_exactly_across_any_split(
    series: list[Sample], a: datetime, b: datetime, c: datetime
) -> None:
    a, b, c = sorted((a, b, c))
    assert integral(series, a, b) + integral(series, b, c) == integral(series, a, c)


@given(samples)
def test_months_add_up_to_the_whole_span(series: list[Sample]) -> None:
    months = [Month(2026, 9), Month(2026, 10), Month(2026, 11), Month(2026, 12)]
    by_metric = {Metric.S3_BYTES: series, Metric.CORES: series}
    whole = totals(by_metric, months[0].start, months[-1].end)
    parts = [month_totals(by_metric, month, now=datetime(2030, 1, 1)) for month in months]
    assert sum(p.s3_gib_days for p in parts) == whole.s3_gib_days
    assert sum(p.vcpu_hours for p in parts) == whole.vcpu_hours


@given(
    st.lists(
        st.builds(
            Sample,
            at=st.integers(0, 24 * 45).map(lambda h: ORIGIN + timedelta(hours=h)),
            value=st.integers(0, 64),
        ),
        max_size=20,
    )
)
def test_integral_matches_summing_hour_by_hour(series: list[Sample]) -> None:
    """Samples on whole hours: the level of each hour is the last sample at or before it."""
    start, end = datetime(2026, 10, 1), datetime(2026, 10, 16)
    expected = 0
    hour = start
    while hour < end:
        held = [s for s in series if s.at <= hour]
        latest = max((s.at for s in held), default=None)
        # Of several samples at the same moment, the last one given wins.
        level = [s.value for s in held if s.at == latest][-1] if held else 0
        expected += level
        hour += timedelta(hours=1)
    found = totals({Metric.CORES: series}, start, end)
    assert found.vcpu_hours == expected


@given(samples, samples)
def test_only_the_last_sample_before_the_month_matters(
    earlier: list[Sample], during: list[Sample]
) -> None:
    before = [
        Sample(NOV.start - timedelta(days=40) + (s.at - ORIGIN) / 10, s.value) for s in earlier
    ]
    last = Sample(NOV.start - timedelta(seconds=1), 7)
    inside = [s for s in during if s.at >= NOV.start]
    with_history = {Metric.DISK_GIB: [*before, last, *inside]}
    without = {Metric.DISK_GIB: [last, *inside]}
    now = datetime(2027, 6, 1)
    assert month_totals(with_history, NOV, now) == month_totals(without, NOV, now)


def test_stopped_machines_count_their_disk_but_not_their_cores_and_memory() -> None:
    specs = [
        {"cores": 4, "memory_mib": 8192, "disk_gib": 40},
        {"cores": 2, "memory_mib": 4096, "disk_gib": 30, "running": False},
        {"cores": 4, "memory_mib": 8192, "disk_gib": 60, "running": True},
    ]
    assert machine_levels(specs) == {
        Metric.VMS: 3,
        Metric.CORES: 8,
        Metric.MEMORY_MIB: 16384,
        Metric.DISK_GIB: 130,
    }
    assert machine_levels([]) == dict.fromkeys(
        (Metric.VMS, Metric.CORES, Metric.MEMORY_MIB, Metric.DISK_GIB), 0
    )


@pytest.mark.parametrize(
    ("text", "month"),
    [("2026-11", Month(2026, 11)), ("1970-01", Month(1970, 1)), (" 9998-12 ", Month(9998, 12))],
)
def test_month_is_read_from_yyyy_mm(text: str, month: Month) -> None:
    assert Month.parse(text) == month
    assert str(month) == text.strip()


def test_december_ends_at_the_next_new_year() -> None:
    assert Month(2026, 12).end == datetime(2027, 1, 1)
    assert Month(2026, 2).end - Month(2026, 2).start == timedelta(days=28)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "2026-13",
        "2026-00",
        "2026-1",
        "26-11",
        "2026/11",
        "November",
        "0000-01",
        "\u0662\u0660\u0662\u0666-\u0661\u0661",
    ],
)
def test_malformed_months_are_refused_with_a_message(text: str) -> None:
    with pytest.raises(ValueError, match="month"):
        Month.parse(text)


def _parsed(text: str) -> Month | str:
    try:
        return Month.parse(text)
    except ValueError as exc:
        return str(exc)


@given(st.text(max_size=12))
def test_any_text_is_a_month_or_a_clear_refusal(text: str) -> None:
    found = _parsed(text)
    if isinstance(found, Month):
        assert found.start < found.end
    else:
        assert "month" in found
