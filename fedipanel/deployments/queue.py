"""Where deployment jobs go: RQ on Redis when configured, else an in-process worker thread."""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol

from flask import Flask, current_app

from fedipanel.timeutil import utcnow

log = logging.getLogger(__name__)
QUEUE_NAME = "fedipanel"


class JobQueue(Protocol):
    def enqueue(self, func: Callable[..., Any], *args: Any) -> str: ...

    def is_lost(self, job_id: str | None, queued_at: datetime) -> bool:
        """Tell whether a job this queue accepted can no longer run."""


class EmbeddedQueue:
    """Runs jobs one after another in a daemon thread of the web process (`make run`)."""

    def __init__(self, app: Flask) -> None:
        self._app = app
        self._jobs: queue.Queue[tuple[Callable[..., Any], tuple[Any, ...]]] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._counter = 0
        self._created_at = utcnow()

    def is_lost(self, job_id: str | None, queued_at: datetime) -> bool:
        # The in-memory queue of an earlier web process died with it.
        return queued_at < self._created_at

    def enqueue(self, func: Callable[..., Any], *args: Any) -> str:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._work, name="fedipanel-embedded-worker", daemon=True
                )
                self._thread.start()
            self._counter += 1
            job_id = f"embedded-{self._counter}"
        self._jobs.put((func, args))
        return job_id

    def join(self) -> None:
        """Wait until every queued job has run (tests and benchmarks)."""
        self._jobs.join()

    def _work(self) -> None:
        while True:
            func, args = self._jobs.get()
            try:
                with self._app.app_context():
                    func(*args)
            except Exception:
                # The job wrapper already recorded the failure on the row.
                log.exception("embedded job %s%r failed", getattr(func, "__name__", func), args)
            finally:
                self._jobs.task_done()


class RedisQueue:
    """Puts jobs on an RQ queue that `flask fedipanel worker` processes consume."""

    def __init__(self, url: str, job_timeout: int) -> None:
        self.url = url
        self._job_timeout = job_timeout

    def is_lost(self, job_id: str | None, queued_at: datetime) -> bool:
        """A job Redis no longer has, or that RQ gave up on before it started, is lost."""
        from rq.exceptions import NoSuchJobError
        from rq.job import Job, JobStatus

        if not job_id:
            return True
        try:
            status = Job.fetch(job_id, connection=self.connection()).get_status(refresh=False)
        except NoSuchJobError:
            return True
        return status in (JobStatus.FAILED, JobStatus.STOPPED, JobStatus.CANCELED)

    def connection(self) -> Any:
        from redis import Redis

        return Redis.from_url(self.url)

    def enqueue(self, func: Callable[..., Any], *args: Any) -> str:
        from rq import Queue

        rq_queue = Queue(QUEUE_NAME, connection=self.connection())
        job = rq_queue.enqueue(func, *args, job_timeout=self._job_timeout, failure_ttl=7 * 86400)
        return str(job.id)


def init_queue(app: Flask) -> None:
    """Choose the queue from FEDIPANEL_REDIS_URL."""
    url = app.config.get("REDIS_URL")
    job_queue: JobQueue = (
        RedisQueue(url, int(app.config["JOB_TIMEOUT"])) if url else EmbeddedQueue(app)
    )
    app.extensions["fedipanel.queue"] = job_queue


def get_queue() -> JobQueue:
    """Return the app's job queue."""
    return current_app.extensions["fedipanel.queue"]
