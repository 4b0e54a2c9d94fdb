"""Recording usage levels: machines from the recorded resources, S3 bytes from Garage."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from datetime import datetime

from sqlalchemy import select

from fedipanel.core.usage import Metric, Sample, machine_levels
from fedipanel.db import db
from fedipanel.providers.garage.admin import GarageAdmin
from fedipanel.providers.garage.settings import GarageSettings
from fedipanel.resources.records import machine_specs, recorded_facts
from fedipanel.usage.models import UsageSample


def latest_level(operator_id: int, metric: Metric) -> Sample | None:
    """Return the operator's latest sample of one metric, if any."""
    row = db.session.execute(
        select(UsageSample.at, UsageSample.value)
        .where(UsageSample.operator_id == operator_id, UsageSample.metric == metric)
        .order_by(UsageSample.at.desc(), UsageSample.id.desc())
        .limit(1)
    ).first()
    return None if row is None else Sample(row.at, row.value)


def record_levels(
    operator_id: int,
    levels: Mapping[Metric, int],
    at: datetime,
    *,
    always: Collection[Metric] = (),
) -> list[Metric]:
    """Store a sample of each level that differs from the latest one (or is in `always`).

    A metric never sampled counts as 0 until then. Returns the metrics sampled.
    """
    sampled = []
    for metric, value in levels.items():
        latest = latest_level(operator_id, metric)
        if metric in always or (latest.value if latest else 0) != value:
            db.session.add(UsageSample(operator_id=operator_id, metric=metric, value=value, at=at))
            sampled.append(metric)
    db.session.commit()
    return sampled


def record_machines(operator_id: int, at: datetime) -> list[Metric]:
    """Sample the VMs, vCPUs, memory and disk of the operator's recorded machines."""
    return record_levels(operator_id, machine_levels(machine_specs(operator_id)), at)


def garage_buckets(operator_id: int) -> list[str]:
    """Return the Garage ids of the buckets FediPanel created for the operator."""
    facts = recorded_facts(operator_id, "s3_bucket")
    # Pre-configured and simulated buckets have no Garage id: nothing to ask Garage about.
    return sorted(str(found["bucket_id"]) for found in facts.values() if found.get("bucket_id"))


def stored_bytes(admin: GarageAdmin, bucket_ids: Iterable[str]) -> int:
    """Return what the buckets hold together (GetBucketInfo's `bytes`); a gone one holds 0."""
    total = 0
    for bucket_id in bucket_ids:
        info = admin.bucket(bucket_id)
        total += info.bytes if info is not None else 0
    return total


def record_storage(operator_id: int, garage: GarageSettings | None, at: datetime) -> int | None:
    """Sample the bytes the operator keeps on Garage; None when there is no Garage to ask.

    Raises GarageError when Garage cannot answer; nothing is recorded then.
    """
    buckets = garage_buckets(operator_id)
    if not buckets:
        record_levels(operator_id, {Metric.S3_BYTES: 0}, at)
        return 0
    if garage is None:
        return None
    total = stored_bytes(garage.admin(), buckets)
    # Every successful sample is kept, changed or not: it is when the level was last known.
    record_levels(operator_id, {Metric.S3_BYTES: total}, at, always={Metric.S3_BYTES})
    return total
