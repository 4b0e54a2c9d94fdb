"""Usage: record the operator's levels once a deployment changed machines or buckets."""

from __future__ import annotations

from fedipanel.core.planner import Action
from fedipanel.providers.garage.admin import GarageError
from fedipanel.timeutil import utcnow
from fedipanel.usage import recording
from jobs.steps.context import DeployContext

_BUCKETS_CHANGE = (Action.CREATE, Action.DELETE)


def record(ctx: DeployContext) -> None:
    """Sample machines from what is recorded now, and S3 if buckets came or went."""
    now = utcnow()
    recording.record_machines(ctx.operator.id, now)
    if not ctx.changes("s3_bucket", actions=_BUCKETS_CHANGE):
        return
    try:
        recording.record_storage(ctx.operator.id, ctx.settings.garage, now)
    except GarageError as exc:
        ctx.progress.log(
            [
                f"Usage: the buckets' sizes could not be read ({exc}); the daily "
                "sample will read them."
            ]
        )
