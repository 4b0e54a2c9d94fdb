"""The usage sampling job: what every operator keeps on Garage, once a day."""

from __future__ import annotations

import logging

from fedipanel.settings import effective
from fedipanel.timeutil import utcnow
from fedipanel.usage import sampling
from jobs.runner import job_context

log = logging.getLogger(__name__)


def sample_storage() -> None:
    """Sample the S3 usage of every operator due (USAGE_SAMPLE_INTERVAL after the last)."""
    with job_context():
        done = sampling.sample_storage(
            effective.current().garage, utcnow(), sampling.interval_setting()
        )
        log.info("S3 usage sampled for %d operator(s)", len(done.operators))
        if done.error:
            # Left for the next check (within the hour); the samples taken so far are kept.
            log.warning("S3 usage sampling stopped: %s", done.error)
