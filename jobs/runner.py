"""The one wrapper every job runs in: claim the row, run the steps, record the outcome."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from flask import Flask, current_app, has_app_context
from rq import get_current_job

from fedipanel.audit import log as audit_log
from fedipanel.audit.log import Action
from fedipanel.db import db
from fedipanel.deployments.models import Deployment
from fedipanel.deployments.progress import Heartbeat, Progress
from fedipanel.deployments.workers import WorkerLost
from fedipanel.runtime import create_base_app
from fedipanel.settings import effective

log = logging.getLogger(__name__)
_app: Flask | None = None


class StepFailed(Exception):
    """An expected failure (a provider refusing, bad settings): the message is for the operator."""


def job_app() -> Flask:
    """Return the app to run jobs in, creating it on first use in a worker process."""
    global _app
    if has_app_context():
        return current_app._get_current_object()  # type: ignore[attr-defined]
    if _app is None:
        _app = create_base_app()
    return _app


@contextmanager
def job_context() -> Iterator[Flask]:
    """Run the body of a job in its app's context, on connections of its own."""
    app = job_app()
    with app.app_context():
        if get_current_job() is not None:
            # A forked RQ work horse must not reuse its parent's database connections.
            db.engine.dispose(close=False)
        yield app


def run_job(deployment_id: int, body: Callable[[Progress], None]) -> None:
    """Run `body` for a queued deployment and record how it ended on its row."""
    with job_context() as app:
        progress = Progress(deployment_id)
        for secret in effective.current().secrets:
            progress.hide(secret)
        if not progress.claim():
            log.warning("deployment %s is no longer queued; skipping", deployment_id)
            return
        with Heartbeat(app, deployment_id, float(app.config["HEARTBEAT_INTERVAL"])):
            try:
                body(progress)
            except StepFailed as exc:
                progress.fail(str(exc))
                _finished(progress, "failed")
                return
            except BaseException as exc:
                log.exception("deployment %s failed unexpectedly", deployment_id)
                progress.fail(_unexpected_message(exc))
                _finished(progress, "failed")
                raise
        progress.succeed()
        _finished(progress, "succeeded")


def _finished(progress: Progress, outcome: str) -> None:
    row = db.session.get(Deployment, progress.deployment_id)
    if row is None:  # an account deletion removed its own row with the account
        return
    audit_log.record(
        Action.DEPLOYMENT_FINISHED,
        operator_id=row.operator_id,
        deployment=progress.deployment_id,
        kind=row.kind,
        outcome=outcome,
    )


def _unexpected_message(exc: BaseException) -> str:
    name = type(exc).__name__
    if isinstance(exc, WorkerLost):
        return str(exc)
    if name == "JobTimeoutException":
        return "timed out: the deployment took longer than FEDIPANEL_JOB_TIMEOUT allows"
    if isinstance(exc, KeyboardInterrupt | SystemExit):
        return "interrupted: the worker was stopped"
    return f"unexpected error ({name}); the provider's logs have the details"
