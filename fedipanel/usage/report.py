"""An operator's usage in a calendar month, for the pages, the API and the command line."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction
from typing import Any

from sqlalchemy import Select, bindparam, select, union_all

from fedipanel.core.usage import Metric, Month, Sample, month_totals
from fedipanel.db import db
from fedipanel.usage.models import UsageSample

# Totals are exact; what is shown and exported is rounded to this many decimals.
DECIMALS = 3
# The export's columns, in order (the JSON keys too).
COLUMNS = ("operator", "month", "vms", "vcpuHours", "memoryGibHours", "diskGibDays", "s3GibDays")


@dataclass(frozen=True)
class MonthUsage:
    """What one operator used in one month (so far, while it lasts)."""

    operator_id: int
    month: Month
    until: datetime  # the end of what was counted: the month's end, or now
    vms: int  # the most VMs at once
    vcpu_hours: float
    memory_gib_hours: float
    disk_gib_days: float
    s3_gib_days: float

    @property
    def in_progress(self) -> bool:
        """Tell whether the month has begun and not ended: its totals are so far."""
        return self.month.start < self.until < self.month.end

    def as_json(self) -> dict[str, Any]:
        """Return the API's view, keyed by COLUMNS."""
        values = (
            self.operator_id,
            str(self.month),
            self.vms,
            self.vcpu_hours,
            self.memory_gib_hours,
            self.disk_gib_days,
            self.s3_gib_days,
        )
        return dict(zip(COLUMNS, values, strict=True))


def _statements() -> tuple[Select[Any], Select[Any]]:
    """Build the two queries of `samples_for` once: pages run them on every view."""
    mine = UsageSample.operator_id == bindparam("operator_id")
    columns = (UsageSample.metric, UsageSample.at, UsageSample.value)
    last_before = [
        select(*columns)
        .where(mine, UsageSample.metric == metric.value, UsageSample.at <= bindparam("start"))
        .order_by(UsageSample.at.desc(), UsageSample.id.desc())
        .limit(1)
        .subquery()
        for metric in Metric
    ]
    during = (
        select(*columns)
        .where(mine, UsageSample.at > bindparam("start"), UsageSample.at < bindparam("end"))
        .order_by(UsageSample.at, UsageSample.id)
    )
    return union_all(*(select(part) for part in last_before)), during  # type: ignore[return-value]


_LAST_BEFORE, _DURING = _statements()


def samples_for(operator_id: int, start: datetime, end: datetime) -> dict[Metric, list[Sample]]:
    """Return each metric's samples that shape [start, end): the last one before, then inside."""
    params = {"operator_id": operator_id, "start": start, "end": end}
    before = db.session.execute(_LAST_BEFORE, params).all()
    during = db.session.execute(_DURING, params).all()
    series: dict[Metric, list[Sample]] = {metric: [] for metric in Metric}
    for row in [*before, *during]:
        if row.metric in series:
            series[Metric(row.metric)].append(Sample(row.at, row.value))
    return series


def _shown(value: Fraction) -> float:
    return float(round(value, DECIMALS))


def month_usage(operator_id: int, month: Month, now: datetime) -> MonthUsage:
    """Return the operator's usage in `month`, counted up to `now` while the month lasts."""
    until = max(month.start, min(month.end, now))
    found = month_totals(samples_for(operator_id, month.start, until), month, now)
    return MonthUsage(
        operator_id=operator_id,
        month=month,
        until=until,
        vms=found.vms,
        vcpu_hours=_shown(found.vcpu_hours),
        memory_gib_hours=_shown(found.memory_gib_hours),
        disk_gib_days=_shown(found.disk_gib_days),
        s3_gib_days=_shown(found.s3_gib_days),
    )


def this_month(operator_id: int, now: datetime) -> MonthUsage:
    """Return the operator's usage this month so far: what templates/usage/_summary.html shows."""
    return month_usage(operator_id, Month.of(now), now)


def as_csv(rows: Iterable[MonthUsage]) -> str:
    """Return the rows as CSV with a header line."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for row in rows:
        writer.writerow(row.as_json()[column] for column in COLUMNS)
    return out.getvalue()
