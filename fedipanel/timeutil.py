"""Naive-UTC timestamps, as SQLite stores them."""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    """Return the current time in UTC without tzinfo (the database's convention)."""
    return datetime.now(UTC).replace(tzinfo=None)


def iso(value: datetime | None) -> str | None:
    """Return a stored timestamp as ISO 8601 in UTC ("...Z"), or None."""
    return None if value is None else value.isoformat() + "Z"
