"""What a running job reports: phase, progress, log lines, heartbeats and the outcome."""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable

from flask import Flask
from sqlalchemy import insert, update
from sqlalchemy.exc import SQLAlchemyError

from fedipanel.core.text import N_
from fedipanel.db import db
from fedipanel.deployments.models import Deployment, LogLine, Status
from fedipanel.timeutil import utcnow

log = logging.getLogger(__name__)
MAX_LINE = 4000
# Colour and cursor escapes that terminals understand and a log page does not.
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07")


class Progress:
    """Writes a job's progress to its Deployment row, each write its own short transaction."""

    def __init__(self, deployment_id: int) -> None:
        self.deployment_id = deployment_id
        self._secrets: set[str] = set()

    def hide(self, secret: str | None) -> None:
        """Never let `secret` reach the log, even if a tool prints it."""
        if secret and len(secret) >= 4:
            self._secrets.add(secret)

    def claim(self) -> bool:
        """Move the deployment from queued to running; False if it is no longer queued."""
        now = utcnow()
        result = db.session.execute(
            update(Deployment)
            .where(Deployment.id == self.deployment_id, Deployment.status == Status.QUEUED)
            .values(status=Status.RUNNING, started_at=now, heartbeat_at=now, phase=N_("Starting"))
        )
        db.session.commit()
        return bool(result.rowcount)  # type: ignore[attr-defined]

    def phase(self, name: str, progress: int) -> None:
        """Enter a new phase; the log says so too."""
        self._update(phase=name, progress=max(0, min(100, progress)))
        self.log([f"== {name}"])

    def advance(self, progress: int) -> None:
        """Move the progress bar within the current phase."""
        self._update(progress=max(0, min(100, progress)))

    def log(self, lines: Iterable[str]) -> None:
        """Append lines to the deployment log now, so the page shows them at once."""
        rows = [
            {"deployment_id": self.deployment_id, "line": self._redact(line)[:MAX_LINE]}
            for line in lines
        ]
        if rows:
            db.session.execute(insert(LogLine), rows)
            db.session.execute(
                update(Deployment)
                .where(Deployment.id == self.deployment_id)
                .values(heartbeat_at=utcnow())
            )
            db.session.commit()

    def mark_simulated(self, systems: list[str]) -> None:
        """Record which external systems this deployment only simulated."""
        self._update(simulated=systems)

    def succeed(self) -> None:
        self._finish(Status.SUCCEEDED, None, phase=N_("Deployed"), progress=100)

    def fail(self, error: str) -> None:
        # A step may have failed on the database itself: start from a clean transaction.
        db.session.rollback()
        error = self._redact(error)
        self.log([f"FediPanel: deployment failed: {error}"])
        self._finish(Status.FAILED, error, phase=N_("Failed"))

    def _finish(self, status: Status, error: str | None, **values: object) -> None:
        db.session.rollback()
        db.session.execute(
            update(Deployment)
            .where(Deployment.id == self.deployment_id, Deployment.status == Status.RUNNING)
            .values(status=status, error=error, finished_at=utcnow(), **values)
        )
        db.session.commit()

    def _update(self, **values: object) -> None:
        db.session.execute(
            update(Deployment)
            .where(Deployment.id == self.deployment_id)
            .values(heartbeat_at=utcnow(), **values)
        )
        db.session.commit()

    def _redact(self, text: str) -> str:
        # PostgreSQL stores no NUL character, and a log page has no use for one.
        text = _ANSI.sub("", text).replace("\x00", "")
        for secret in self._secrets:
            text = text.replace(secret, "[redacted]")
        return text


class Heartbeat:
    """Tells the world the worker is alive while a long step (nixops4) prints nothing."""

    def __init__(self, app: Flask, deployment_id: int, interval: float) -> None:
        self._app = app
        self._deployment_id = deployment_id
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="fedipanel-heartbeat", daemon=True)

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        with self._app.app_context():
            while not self._stop.wait(self._interval):
                try:
                    self._beat()
                except SQLAlchemyError as exc:
                    # A missed beat is harmless; a heartbeat thread that ended would let the
                    # reaper fail a deployment that still runs.
                    db.session.rollback()
                    reason = str(exc).splitlines()[0]
                    log.warning(
                        "heartbeat of deployment %s not written: %s", self._deployment_id, reason
                    )
            db.session.remove()

    def _beat(self) -> None:
        db.session.execute(
            update(Deployment)
            .where(Deployment.id == self._deployment_id, Deployment.status == Status.RUNNING)
            .values(heartbeat_at=utcnow())
        )
        db.session.commit()
