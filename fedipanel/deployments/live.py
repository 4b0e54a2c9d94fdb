"""What a live progress poll needs: numbered log lines and a short key of the visible state."""

from __future__ import annotations

import zlib
from typing import NamedTuple

from sqlalchemy import select

from fedipanel.db import db
from fedipanel.deployments.models import Deployment, LogLine

# A poll sends at most this many new lines; the next poll fetches the rest.
POLL_LINES = 500


class Numbered(NamedTuple):
    """One log line with its sequence number (the row id: it only grows)."""

    seq: int
    line: str


def numbered_tail(deployment_id: int, limit: int = 100) -> list[Numbered]:
    """Return the last `limit` log lines with their sequence numbers, oldest first."""
    rows = db.session.execute(
        select(LogLine.id, LogLine.line)
        .where(LogLine.deployment_id == deployment_id)
        .order_by(LogLine.id.desc())
        .limit(limit)
    ).all()
    return [Numbered(seq, line) for seq, line in reversed(rows)]


def lines_after(deployment_id: int, after: int, limit: int = POLL_LINES) -> list[Numbered]:
    """Return the log lines numbered above `after`, oldest first."""
    rows = db.session.execute(
        select(LogLine.id, LogLine.line)
        .where(LogLine.deployment_id == deployment_id, LogLine.id > after)
        .order_by(LogLine.id)
        .limit(limit)
    ).all()
    return [Numbered(seq, line) for seq, line in rows]


def state_key(deployment: Deployment, waiting: bool) -> str:
    """Return a short key that changes whenever the status line of the page would change."""
    simulated = ",".join(deployment.simulated or ())
    return _key(phase_key(deployment), str(deployment.progress), simulated, str(waiting))


def phase_key(deployment: Deployment) -> str:
    """Return a short key that changes with the status or the phase (what is announced)."""
    return _key(deployment.status, deployment.phase)


def _key(*parts: str) -> str:
    return f"{zlib.crc32('|'.join(parts).encode()):08x}"
