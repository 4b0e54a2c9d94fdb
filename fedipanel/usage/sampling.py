"""The daily S3 sample: which operators are due, and queueing the job that samples them.

Timers (the embedded queue's, or each `fedipanel worker`'s) ask every hour whether an operator's
storage was last sampled more than `USAGE_SAMPLE_INTERVAL` seconds ago, and queue the sampling
job if so. The job checks again, so several workers queueing it at once sample nobody twice.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, select

from fedipanel.core.usage import Metric
from fedipanel.db import db
from fedipanel.jobqueue import get_queue
from fedipanel.providers.garage.admin import GarageError
from fedipanel.providers.garage.settings import GarageSettings
from fedipanel.resources.models import RecordedResource
from fedipanel.settings import effective
from fedipanel.timeutil import utcnow
from fedipanel.usage.models import UsageSample
from fedipanel.usage.recording import latest_level, record_storage

log = logging.getLogger(__name__)
SAMPLE_JOB = "jobs.usage.sample_storage"
# How often the timers look for operators due; sooner when samples are wanted more often.
LONGEST_CHECK = 3600.0


def check_every(interval: float) -> float:
    """Return the seconds between the timers' checks for a sampling interval."""
    return max(1.0, min(LONGEST_CHECK, interval))


def operators_due(now: datetime, interval: timedelta) -> list[int]:
    """Return the operators whose S3 usage was last sampled `interval` ago, or never.

    That is everyone with a bucket on Garage, and anyone whose last level was not 0 although
    their buckets are gone (so the level drops to 0).
    """
    with_buckets = {
        row.operator_id
        for row in db.session.execute(
            select(RecordedResource.operator_id, RecordedResource.facts).where(
                RecordedResource.kind == "s3_bucket"
            )
        )
        if (row.facts or {}).get("bucket_id")
    }
    last: dict[int, datetime] = {
        operator_id: at
        for operator_id, at in db.session.execute(
            select(UsageSample.operator_id, func.max(UsageSample.at))
            .where(UsageSample.metric == Metric.S3_BYTES)
            .group_by(UsageSample.operator_id)
        )
    }
    candidates = with_buckets | {
        operator_id
        for operator_id in set(last) - with_buckets
        if (latest := latest_level(operator_id, Metric.S3_BYTES)) and latest.value
    }
    return sorted(
        operator_id
        for operator_id in candidates
        if operator_id not in last or last[operator_id] <= now - interval
    )


@dataclass
class Sampled:
    """What one sampling run did."""

    operators: list[int] = field(default_factory=list)
    error: str | None = None


def sample_storage(garage: GarageSettings | None, now: datetime, interval: timedelta) -> Sampled:
    """Sample the S3 usage of every operator due; stop at Garage's first refusal."""
    done = Sampled()
    if garage is None:
        return done
    for operator_id in operators_due(now, interval):
        try:
            record_storage(operator_id, garage, now)
        except GarageError as exc:
            # Garage down or refusing the token affects everyone: the next check tries again.
            done.error = str(exc)
            log.warning("S3 usage not sampled for operator %s: %s", operator_id, exc)
            break
        done.operators.append(operator_id)
    return done


def interval_setting() -> timedelta:
    """Return USAGE_SAMPLE_INTERVAL as a duration."""
    return timedelta(seconds=effective.current().usage_sample_interval)


def enqueue_when_due() -> bool:
    """Queue the sampling job if an operator's S3 usage is due (the timers call this)."""
    if effective.current().garage is None or not operators_due(utcnow(), interval_setting()):
        return False
    get_queue().enqueue(SAMPLE_JOB)
    log.info("S3 usage sampling queued")
    return True
