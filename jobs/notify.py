"""The notice delivery job: email and webhook, tried again with growing pauses when they fail."""

from __future__ import annotations

import logging
import time

from fedipanel.notifications import delivery
from jobs.runner import job_context

log = logging.getLogger(__name__)


def deliver_notice(notice_id: int) -> None:
    """Deliver one notice, trying a failed channel up to NOTICE_ATTEMPTS times in all."""
    with job_context() as app:
        attempts = max(1, int(app.config["NOTICE_ATTEMPTS"]))
        pause = float(app.config["NOTICE_BACKOFF"])
        for attempt in range(1, attempts + 1):
            if delivery.deliver(notice_id):
                return
            if attempt < attempts:
                time.sleep(pause * 2 ** (attempt - 1))
        # Recorded on the notice; a failed delivery is no failure of the job itself.
        log.warning("notice %s: delivery failed after %d tries", notice_id, attempts)
