"""The directory sync job: accounts on the operator's services follow its LDAP directory."""

from __future__ import annotations

import logging

from fedipanel.identity import sync
from fedipanel.services.passwords import stored_password
from jobs.runner import job_context

log = logging.getLogger(__name__)


def run_sync(sync_id: int) -> None:
    """Run one queued sync of an operator's directory."""
    with job_context():
        row = sync.run_sync(sync_id, stored_password)
        if row is not None and row.errors:
            # The errors are on the row, for the Identity page; the log only says it happened.
            log.warning("directory sync %s finished with %d error(s)", sync_id, len(row.errors))
