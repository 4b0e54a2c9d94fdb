"""The RQ worker `flask fedipanel worker` runs: it fails a deployment at once when its work
horse dies, and a work horse whose worker died stops its job instead of going on alone."""

from __future__ import annotations

import ctypes
import gc
import importlib
import os
import pkgutil
import signal
import sys
from types import FrameType
from typing import Any

from flask import Flask
from rq import Worker
from rq.job import Job

from fedipanel.deployments.reaper import fail_job

_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
# The package of the job functions; the web side names them by dotted path only.
JOB_PACKAGE = "jobs"
# RQ's work horse leaves this signal alone; the kernel sends it when the worker dies.
ORPHANED_SIGNAL = signal.SIGUSR2


class WorkerLost(BaseException):
    """The worker that started this work horse died: stop the job (nixops4 with it)."""

    def __init__(self) -> None:
        super().__init__(
            "interrupted: the worker process running this deployment died; its nixops4 was stopped"
        )


class PanelWorker(Worker):
    """An RQ worker whose work horses cannot outlive it and whose dead horses fail their row."""

    def __init__(self, *args: Any, app: Flask, **kwargs: Any) -> None:
        kwargs["work_horse_killed_handler"] = self._horse_killed
        super().__init__(*args, **kwargs)
        self._app = app
        self._worker_pid = os.getpid()
        preload_jobs()

    def setup_work_horse_signals(self) -> None:
        super().setup_work_horse_signals()
        die_with_parent(self._worker_pid)

    def _horse_killed(self, job: Job, _pid: int, status: int, _rusage: Any) -> None:
        how = f"signal {os.WTERMSIG(status)}" if os.WIFSIGNALED(status) else f"exit {status}"
        with self._app.app_context():
            fail_job(job.id, f"interrupted: the work horse running it was killed ({how})")


def preload_jobs() -> None:
    """Import the job modules once, before any work horse is forked, and freeze the heap.

    RQ forks a work horse per job: what the worker has imported, each horse inherits for free,
    while a module first imported in the horse is imported again for every job. Frozen objects
    are skipped by the horse's garbage collector, so it does not copy their pages either.
    """
    # By name, as RQ resolves jobs: the web side never imports the worker's code.
    package = importlib.import_module(JOB_PACKAGE)
    for module in pkgutil.walk_packages(package.__path__, f"{JOB_PACKAGE}."):
        importlib.import_module(module.name)
    gc.collect()
    gc.freeze()


def die_with_parent(parent: int) -> None:
    """Raise WorkerLost in this process's main thread as soon as `parent` dies (Linux)."""

    def orphaned(_signum: int, _frame: FrameType | None) -> None:
        signal.signal(ORPHANED_SIGNAL, signal.SIG_IGN)  # once is enough
        raise WorkerLost

    signal.signal(ORPHANED_SIGNAL, orphaned)
    if sys.platform.startswith("linux"):
        prctl = ctypes.CDLL(None, use_errno=True).prctl
        prctl(_PR_SET_PDEATHSIG, int(ORPHANED_SIGNAL), 0, 0, 0)
    if os.getppid() != parent:  # it died before the kernel was told
        os.kill(os.getpid(), ORPHANED_SIGNAL)
