"""What a live progress poll needs: numbered log lines and a short key of the visible state."""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from typing import NamedTuple, Protocol

from sqlalchemy import bindparam, exists, select

from fedipanel.db import db
from fedipanel.deployments.models import Deployment, LogLine

# A poll sends at most this many new lines; the next poll fetches the rest.
POLL_LINES = 500


class Numbered(NamedTuple):
    """One log line with its sequence number (the row id: it only grows)."""

    seq: int
    line: str


class Shown(Protocol):
    """What the status line shows of a deployment (a `Deployment` or a `PollState`)."""

    @property
    def status(self) -> str: ...
    @property
    def phase(self) -> str: ...
    @property
    def progress(self) -> int: ...
    @property
    def simulated(self) -> Sequence[str] | None: ...


class PollState(NamedTuple):
    """A deployment's status line, its owner, and whether lines came after the page's last."""

    operator_id: int
    status: str
    phase: str
    progress: int
    simulated: list[str] | None
    newer: bool


# Built once: a poll runs it every second for every open page.
_POLL_STATE = select(
    Deployment.operator_id,
    Deployment.status,
    Deployment.phase,
    Deployment.progress,
    Deployment.simulated,
    exists().where(LogLine.deployment_id == Deployment.id, LogLine.id > bindparam("after")),
).where(Deployment.id == bindparam("deployment_id"))


def poll_state(deployment_id: int, after: int) -> PollState | None:
    """Return what a poll compares, in one query and without loading the deployment."""
    row = (
        db.session.connection()
        .execute(_POLL_STATE, {"deployment_id": deployment_id, "after": after})
        .first()
    )
    return None if row is None else PollState(*row)


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


def state_key(deployment: Shown, waiting: bool) -> str:
    """Return a short key that changes whenever the status line of the page would change."""
    simulated = ",".join(deployment.simulated or ())
    return _key(phase_key(deployment), str(deployment.progress), simulated, str(waiting))


def phase_key(deployment: Shown) -> str:
    """Return a short key that changes with the status or the phase (what is announced)."""
    return _key(deployment.status, deployment.phase)


def _key(*parts: str) -> str:
    return f"{zlib.crc32('|'.join(parts).encode()):08x}"
