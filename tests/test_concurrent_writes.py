"""Jobs writing while other connections write: closing an account, the heartbeat.

On SQLite a query whose rows are not all read yet keeps a read transaction open on its
connection. A write on that connection must then upgrade it, and SQLite refuses at once
("database is locked", without waiting out the busy timeout) when another connection wrote
since the query began. The closing reads everything it needs before it writes.
"""

from __future__ import annotations

import sqlite3
import threading
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import event, select, update

from fedipanel.core.usage import Metric
from fedipanel.db import db
from fedipanel.deployments import deletions
from fedipanel.deployments.models import Deployment, Kind, Status
from fedipanel.deployments.progress import Heartbeat
from fedipanel.timeutil import utcnow
from fedipanel.usage.recording import latest_level, record_levels
from tests.helpers import Factory


def test_closing_an_account_writes_after_another_connection_wrote(
    app: Flask, factory: Factory, monkeypatch: pytest.MonkeyPatch
) -> None:
    operator_id = factory.operator()
    with app.app_context():
        # A level the closing drops to 0: it writes a usage sample.
        record_levels(operator_id, {Metric.VMS: 2}, utcnow())
        deletion = Deployment(
            operator_id=operator_id, kind=Kind.DELETION, status=Status.RUNNING, started_at=utcnow()
        )
        db.session.add(deletion)
        db.session.commit()
        deletion_id = deletion.id
        beats = []

        def heartbeat_then_record(*args: Any, **kwargs: Any) -> list[Metric]:
            # The heartbeat thread's write, on a connection of its own, between the closing's
            # reads and its first write.
            with db.engine.begin() as other:
                other.execute(
                    update(Deployment)
                    .where(Deployment.id == deletion_id)
                    .values(heartbeat_at=utcnow())
                )
            beats.append(True)
            return record_levels(*args, **kwargs)

        monkeypatch.setattr(deletions, "record_levels", heartbeat_then_record)
        deletions.close_account(deletion_id, closing_lines=["closed"], retain_days=30)

        assert beats == [True]
        assert db.session.get(Deployment, deletion_id) is None  # gone with the account
        assert latest_level(operator_id, Metric.VMS) is None  # the samples too


def test_a_heartbeat_the_database_refused_once_beats_again(
    app: Flask, factory: Factory, caplog: pytest.LogCaptureFixture
) -> None:
    operator_id = factory.operator()
    with app.app_context():
        row = Deployment(operator_id=operator_id, status=Status.RUNNING, started_at=utcnow())
        db.session.add(row)
        db.session.commit()
        deployment_id = row.id
        beats: list[str] = []
        beat_again = threading.Event()

        def refuse_the_first_beat(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
            if statement.startswith("UPDATE deployments SET heartbeat_at"):
                beats.append("refused" if not beats else "written")
                if beats == ["refused"]:
                    raise sqlite3.OperationalError("database is locked")

        def written(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
            if statement.startswith("UPDATE deployments SET heartbeat_at"):
                beat_again.set()

        event.listen(db.engine, "before_cursor_execute", refuse_the_first_beat)
        event.listen(db.engine, "after_cursor_execute", written)
        try:
            with Heartbeat(app, deployment_id, interval=0.01):
                beat_again.wait(timeout=60)
        finally:
            event.remove(db.engine, "before_cursor_execute", refuse_the_first_beat)
            event.remove(db.engine, "after_cursor_execute", written)
        assert beats[:2] == ["refused", "written"]
        beat_at = db.session.scalar(
            select(Deployment.heartbeat_at).where(Deployment.id == deployment_id)
        )
        assert beat_at is not None
    assert f"heartbeat of deployment {deployment_id} not written" in caplog.text
    assert "database is locked" in caplog.text
