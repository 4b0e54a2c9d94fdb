"""Where jobs go: RQ on Redis when configured, else an in-process worker thread.

Jobs are named by their dotted path (`jobs.deploy.run_deployment`), as RQ accepts them, so that
nothing on this side imports the worker's code.
"""

from __future__ import annotations

import importlib
import logging
import queue
import threading
import weakref
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from flask import Flask, current_app
from redis import Redis
from redis.exceptions import RedisError
from rq import Queue, Worker
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus
from sqlalchemy.exc import DBAPIError

from fedipanel.timeutil import utcnow

log = logging.getLogger(__name__)
QUEUE_NAME = "fedipanel"
_EXTENSION = "fedipanel.queue"


class JobQueue(Protocol):
    def enqueue(self, job: str, *args: Any) -> str:
        """Queue the job named by its dotted path with `args` (ids only); return its id."""

    def enqueue_many(self, job: str, args: list[tuple[Any, ...]]) -> None:
        """Queue the job once per argument tuple, in one round trip where the queue allows."""

    def enqueue_at(self, moment: datetime, job: str, *args: Any) -> None:
        """Queue the job at `moment` (naive UTC, or aware)."""

    def is_lost(self, job_id: str | None, queued_at: datetime) -> bool:
        """Tell whether a job this queue accepted can no longer run."""

    def failure(self, job_id: str | None) -> str | None:
        """Say why a started job ended without finishing (killed, stopped), or None."""

    def has_live_worker(self) -> bool:
        """Tell whether some worker is there to take the queued jobs."""

    def close(self) -> None:
        """Stop what the queue runs on its own (timers); queued jobs are not affected."""


def _resolve(job: str) -> Callable[..., Any]:
    module, _, name = job.rpartition(".")
    function: Callable[..., Any] = getattr(importlib.import_module(module), name)
    return function


class EmbeddedQueue:
    """Runs jobs one after another in a daemon thread of the web process (`make run`)."""

    def __init__(self, app: Flask) -> None:
        self._app = app
        self._jobs: queue.Queue[tuple[str, tuple[Any, ...]]] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._counter = 0
        self._created_at = utcnow()
        self._stop = threading.Event()
        self._timers: weakref.WeakSet[threading.Timer] = weakref.WeakSet()
        self._repeaters: list[threading.Thread] = []

    def is_lost(self, job_id: str | None, queued_at: datetime) -> bool:
        # The in-memory queue of an earlier web process died with it.
        return queued_at < self._created_at

    def failure(self, job_id: str | None) -> str | None:
        # The thread records every failure on the row itself.
        return None

    def has_live_worker(self) -> bool:
        return True  # the web process is its own worker

    def enqueue(self, job: str, *args: Any) -> str:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._work, name="fedipanel-embedded-worker", daemon=True
                )
                self._thread.start()
            self._counter += 1
            job_id = f"embedded-{self._counter}"
        self._jobs.put((job, args))
        return job_id

    def enqueue_at(self, moment: datetime, job: str, *args: Any) -> None:
        """Queue the job at `moment` from a timer thread (lost with the process: the rows
        and the periodic tasks put it back)."""
        delay = (_naive_utc(moment) - utcnow()).total_seconds()
        if delay <= 0:
            self.enqueue(job, *args)
            return

        def due() -> None:
            if not self._stop.is_set():
                self.enqueue(job, *args)

        timer = threading.Timer(delay, due)
        timer.daemon = True
        timer.start()
        self._timers.add(timer)

    def enqueue_many(self, job: str, args: list[tuple[Any, ...]]) -> None:
        for each in args:
            self.enqueue(job, *each)

    def join(self) -> None:
        """Wait until every queued job has run (tests and benchmarks)."""
        self._jobs.join()

    def every(self, seconds: float, task: Callable[[], object]) -> None:
        """Run `task` in the app's context every `seconds` until `close()` (the reaper)."""
        app_ref = weakref.ref(self._app)

        def repeat() -> None:
            while not self._stop.wait(seconds):
                app = app_ref()
                if app is None:  # the app is gone (a test finished): so is the timer
                    return
                name = getattr(task, "__name__", task)
                try:
                    with app.app_context():
                        task()
                except DBAPIError as exc:
                    # The database's own message says it all (e.g. not initialised yet). No
                    # traceback: Python 3.11 parses source lines to format one, which can upset
                    # another thread compiling code at that moment (a route, a template).
                    log.error("periodic task %s failed: %s", name, exc.orig)
                except Exception:
                    log.exception("periodic task %s failed", name)
                del app

        thread = threading.Thread(target=repeat, name="fedipanel-timer", daemon=True)
        thread.start()
        self._repeaters.append(thread)

    def close(self) -> None:
        """Stop the timers (queued jobs still run)."""
        self._stop.set()
        for timer in list(self._timers):
            timer.cancel()
        # A task already running finishes before close() returns: nothing of this app is left
        # working (or logging) once its owner has moved on.
        for thread in self._repeaters:
            if thread is not threading.current_thread():
                thread.join(timeout=30)

    def _work(self) -> None:
        while True:
            job, args = self._jobs.get()
            try:
                with self._app.app_context():
                    _resolve(job)(*args)
            except Exception:
                # The job wrapper already recorded the failure on the row.
                log.exception("embedded job %s%r failed", job, args)
            finally:
                self._jobs.task_done()


class RedisQueue:
    """Puts jobs on an RQ queue that `flask fedipanel worker` processes consume."""

    def __init__(self, url: str, job_timeout: int) -> None:
        self.url = url
        self._job_timeout = job_timeout

    def is_lost(self, job_id: str | None, queued_at: datetime) -> bool:
        """A job Redis no longer has, or that RQ gave up on before it started, is lost."""
        if not job_id:
            return True
        try:
            status = Job.fetch(job_id, connection=self.connection()).get_status(refresh=False)
        except NoSuchJobError:
            return True
        return status in (JobStatus.FAILED, JobStatus.STOPPED, JobStatus.CANCELED)

    def failure(self, job_id: str | None) -> str | None:
        """A job RQ marked failed, stopped or cancelled ended; say why in RQ's words."""
        if not job_id:
            return None
        try:
            job = Job.fetch(job_id, connection=self.connection())
            status = job.get_status(refresh=False)
        except NoSuchJobError:
            return None  # Redis restarted: the row's heartbeat tells whether the work goes on
        if status not in (JobStatus.FAILED, JobStatus.STOPPED, JobStatus.CANCELED):
            return None
        result = job.latest_result()
        reason = (result.exc_string or "").strip().splitlines() if result else []
        return f"the worker reports its job {JobStatus(status).value}" + (
            f": {reason[-1]}" if reason else ""
        )

    def has_live_worker(self) -> bool:
        """A worker counts while its registration lives (it expires when heartbeats stop)."""
        try:
            return bool(Worker.all(connection=self.connection()))
        except RedisError:
            return False

    def connection(self) -> Redis:
        return Redis.from_url(self.url)

    def close(self) -> None:
        """Nothing to stop: the workers run the reaper."""

    def enqueue_at(self, moment: datetime, job: str, *args: Any) -> None:
        """Hand the job to RQ's scheduler (workers run with it: `fedipanel worker`); a moment
        already past is queued at once, whether a scheduler runs yet or not."""
        moment = _naive_utc(moment)
        if moment <= utcnow():
            self.enqueue(job, *args)
            return
        if moment.microsecond:
            # RQ's scheduler keeps whole seconds: rounding down would run the job too early.
            moment = moment.replace(microsecond=0) + timedelta(seconds=1)
        rq_queue = Queue(QUEUE_NAME, connection=self.connection())
        rq_queue.enqueue_at(
            _naive_utc(moment).replace(tzinfo=UTC), job, *args, job_timeout=self._job_timeout
        )

    def enqueue_many(self, job: str, args: list[tuple[Any, ...]]) -> None:
        """Queue many jobs in one pipelined round trip (a rollout's notices)."""
        rq_queue = Queue(QUEUE_NAME, connection=self.connection())
        rq_queue.enqueue_many(
            [
                Queue.prepare_data(job, args=each, timeout=self._job_timeout, failure_ttl=7 * 86400)
                for each in args
            ]
        )

    def enqueue(self, job: str, *args: Any) -> str:
        rq_queue = Queue(QUEUE_NAME, connection=self.connection())
        queued = rq_queue.enqueue(job, *args, job_timeout=self._job_timeout, failure_ttl=7 * 86400)
        return str(queued.id)


def _naive_utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment


def init_queue(app: Flask) -> None:
    """Choose the queue from FEDIPANEL_REDIS_URL."""
    url = app.config.get("REDIS_URL")
    job_queue: JobQueue = (
        RedisQueue(url, int(app.config["JOB_TIMEOUT"])) if url else EmbeddedQueue(app)
    )
    app.extensions[_EXTENSION] = job_queue


def get_queue() -> JobQueue:
    """Return the app's job queue."""
    job_queue: JobQueue = current_app.extensions[_EXTENSION]
    return job_queue
