"""Recording what exists, as soon as it exists, so a failed run can be continued."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select

from fedipanel.core.resources import Resource
from fedipanel.db import db
from fedipanel.resources.models import RecordedResource


def recorded_facts(operator_id: int, kind: str) -> dict[str, dict[str, Any]]:
    """Return what is known about the operator's recorded resources of one kind, by name."""
    rows = db.session.scalars(
        select(RecordedResource).where(
            RecordedResource.operator_id == operator_id, RecordedResource.kind == kind
        )
    )
    return {row.name: dict(row.facts or {}) for row in rows}


def record(
    operator_id: int,
    deployment_id: int,
    resource: Resource,
    facts: dict[str, Any] | None = None,
    *,
    simulated: bool,
) -> None:
    """Store (or refresh) a resource that now exists."""
    row = db.session.scalar(
        select(RecordedResource).where(
            RecordedResource.operator_id == operator_id,
            RecordedResource.kind == resource.kind,
            RecordedResource.name == resource.name,
        )
    )
    if row is None:
        row = RecordedResource(operator_id=operator_id, kind=resource.kind, name=resource.name)
        db.session.add(row)
    row.spec = dict(resource.spec)
    row.facts = dict(facts if facts is not None else (row.facts or {}))
    row.simulated = simulated
    row.deployment_id = deployment_id
    db.session.commit()


def forget(operator_id: int, kind: str, name: str) -> None:
    """Drop the record of a resource that no longer exists."""
    db.session.execute(
        delete(RecordedResource).where(
            RecordedResource.operator_id == operator_id,
            RecordedResource.kind == kind,
            RecordedResource.name == name,
        )
    )
    db.session.commit()


def recorded_resources(operator_id: int) -> list[Resource]:
    """Return the resources FediPanel recorded for the operator."""
    rows = db.session.scalars(
        select(RecordedResource).where(RecordedResource.operator_id == operator_id)
    )
    return [Resource(kind=row.kind, name=row.name, spec=row.spec) for row in rows]


def machine_specs(operator_id: int) -> list[dict[str, Any]]:
    """Return the recorded specs of the operator's machines."""
    return [
        dict(spec)
        for spec in db.session.scalars(
            select(RecordedResource.spec).where(
                RecordedResource.operator_id == operator_id, RecordedResource.kind == "machine"
            )
        )
    ]


def recorded_of_kind(operator_id: int, kind: str) -> list[RecordedResource]:
    """Return the operator's recorded resources of one kind, by name."""
    return list(
        db.session.scalars(
            select(RecordedResource)
            .where(RecordedResource.operator_id == operator_id, RecordedResource.kind == kind)
            .order_by(RecordedResource.name)
        )
    )


def recorded_resources_of(operator_ids: list[int]) -> dict[int, list[Resource]]:
    """Return `recorded_resources` of many operators at once."""
    found: dict[int, list[Resource]] = {i: [] for i in operator_ids}
    rows = db.session.scalars(
        select(RecordedResource).where(RecordedResource.operator_id.in_(operator_ids))
    )
    for row in rows:
        found[row.operator_id].append(Resource(kind=row.kind, name=row.name, spec=row.spec))
    return found
