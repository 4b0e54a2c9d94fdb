"""The rollout runner job: start the updates that are due, follow the running ones."""

from __future__ import annotations

import logging

from fedipanel.rollouts.runner import run_due
from fedipanel.settings import effective
from fedipanel.timeutil import utcnow
from jobs.runner import job_context

log = logging.getLogger(__name__)


def run_due_rollouts() -> None:
    """Advance every active rollout as of now."""
    with job_context():
        started = run_due(effective.current(), utcnow())
        if started:
            log.info("rollouts: %d update(s) started", started)
