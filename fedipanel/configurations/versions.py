"""Saving, loading and comparing configuration versions."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from fedipanel.accounts.models import User
from fedipanel.configurations.models import ConfigurationVersion
from fedipanel.core.configuration import Configuration
from fedipanel.core.registry import SERVICE_NAMES
from fedipanel.db import db


@dataclass(frozen=True)
class FieldChange:
    """One value that differs between two versions, by dotted path."""

    path: str
    before: Any
    after: Any


def current_version(operator_id: int) -> ConfigurationVersion | None:
    """Return the operator's newest configuration version, if any."""
    return db.session.scalar(
        select(ConfigurationVersion)
        .where(ConfigurationVersion.operator_id == operator_id)
        .order_by(ConfigurationVersion.version.desc())
        .limit(1)
    )


def current_configuration(operator_id: int) -> Configuration | None:
    """Return the operator's current configuration, validated."""
    row = current_version(operator_id)
    return None if row is None else Configuration.model_validate(row.data)


def history(operator_id: int) -> list[ConfigurationVersion]:
    """Return every version of the operator's configuration, newest first."""
    return list(
        db.session.scalars(
            select(ConfigurationVersion)
            .where(ConfigurationVersion.operator_id == operator_id)
            .order_by(ConfigurationVersion.version.desc())
        )
    )


def normalise(config: Configuration) -> dict[str, Any]:
    """Return the canonical JSON form of a configuration, as stored and served."""
    return config.model_dump(mode="json", exclude_none=True)


def save_configuration(
    operator: User, data: Any, *, source: str, author: User | None = None
) -> tuple[ConfigurationVersion, bool]:
    """Validate `data` and store it as a new version; return it and whether anything changed.

    Raises pydantic's ValidationError when the data is invalid; nothing is saved then.
    """
    config = Configuration.model_validate(data)
    document = normalise(config)
    for _attempt in range(3):
        current = current_version(operator.id)
        if current is not None and current.data == document:
            return current, False
        number = (
            db.session.scalar(
                select(func.max(ConfigurationVersion.version)).where(
                    ConfigurationVersion.operator_id == operator.id
                )
            )
            or 0
        ) + 1
        row = ConfigurationVersion(
            operator_id=operator.id,
            version=number,
            data=document,
            source=source,
            created_by_id=author.id if author else None,
        )
        db.session.add(row)
        try:
            db.session.commit()
        except IntegrityError:
            db.session.rollback()  # another save took this number; take the next
            continue
        return row, True
    raise RuntimeError("could not save the configuration: too many concurrent saves")


def diff(before: dict[str, Any] | None, after: dict[str, Any]) -> list[FieldChange]:
    """List the values that differ between two stored configurations."""
    flat_before = _flatten(before or {})
    flat_after = _flatten(after)
    paths = sorted(set(flat_before) | set(flat_after), key=_path_order)
    return [
        FieldChange(path, flat_before.get(path), flat_after.get(path))
        for path in paths
        if flat_before.get(path) != flat_after.get(path)
    ]


def service_changes(deployed: dict[str, Any] | None, saved: dict[str, Any]) -> dict[str, str]:
    """Return what deploying `saved` over `deployed` would do to each service it changes.

    A service enabled on either side changes with its own settings or with any setting shared
    by all services (domain, administrator); one disabled on both sides never changes.
    """
    before = deployed or {}
    shared_changed = {k: v for k, v in before.items() if k != "services"} != {
        k: v for k, v in saved.items() if k != "services"
    }
    changes: dict[str, str] = {}
    for name in SERVICE_NAMES:
        old = (before.get("services") or {}).get(name) or {}
        new = (saved.get("services") or {}).get(name) or {}
        was_on, is_on = bool(old.get("enable")), bool(new.get("enable"))
        if is_on and not was_on:
            changes[name] = "to be added"
        elif was_on and not is_on:
            changes[name] = "to be removed"
        elif is_on and (shared_changed or _running(old) != _running(new)):
            changes[name] = "changed"
    return changes


def _running(service: dict[str, Any]) -> dict[str, Any]:
    # What to do with the data on removal changes nothing while the service runs.
    return {key: value for key, value in service.items() if key != "keepData"}


def _flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, dict):
        flat: dict[str, Any] = {}
        for key, item in value.items():
            flat.update(_flatten(item, f"{prefix}.{key}" if prefix else key))
        return flat
    return {prefix: value}


def _path_order(path: str) -> tuple[int, str]:
    head = path.split(".")[0]
    order = {"domain": 0, "admin": 1, "services": 2}
    return (order.get(head, 3), path)
