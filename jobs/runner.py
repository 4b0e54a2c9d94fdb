"""The one wrapper every job runs in: claim the row, run the steps, record the outcome."""

from __future__ import annotations

import logging
from collections.abc import Callable

from flask import Flask, current_app, has_app_context

from fedipanel.deployments.progress import Heartbeat, Progress
from fedipanel.extensions import db
from fedipanel.provider_settings import service as settings

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
        from fedipanel import create_app

        _app = create_app()
    return _app


def run_job(deployment_id: int, body: Callable[[Progress], None]) -> None:
    """Run `body` for a queued deployment and record how it ended on its row."""
    app = job_app()
    with app.app_context():
        if _in_forked_worker():
            # A forked RQ work horse must not reuse its parent's database connections.
            db.engine.dispose(close=False)
        progress = Progress(deployment_id)
        for secret in settings.secret_values():
            progress.hide(secret)
        if not progress.claim():
            log.warning("deployment %s is no longer queued; skipping", deployment_id)
            return
        with Heartbeat(app, deployment_id, float(app.config["HEARTBEAT_INTERVAL"])):
            try:
                body(progress)
            except StepFailed as exc:
                progress.fail(str(exc))
                return
            except BaseException as exc:
                log.exception("deployment %s failed unexpectedly", deployment_id)
                progress.fail(_unexpected_message(exc))
                raise
        progress.succeed()


def _in_forked_worker() -> bool:
    try:
        from rq import get_current_job
    except ImportError:  # pragma: no cover - rq is a dependency
        return False
    return get_current_job() is not None


def _unexpected_message(exc: BaseException) -> str:
    name = type(exc).__name__
    if name == "JobTimeoutException":
        return "timed out: the deployment took longer than FEDIPANEL_JOB_TIMEOUT allows"
    if isinstance(exc, KeyboardInterrupt | SystemExit):
        return "interrupted: the worker was stopped"
    return f"unexpected error ({name}); the provider's logs have the details"
