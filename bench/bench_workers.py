"""Deployments per minute with one and with four `fedipanel worker` processes on redis-server.

Every system is simulated at a realistic pace (FEDIPANEL_SIMULATOR_STEP_DELAY=STEP_DELAY: each
simulated nixops4 line waits that long, each VM, bucket or DNS step half of it, as the real
systems make a worker wait on I/O). Operators are distinct, each with one deployment; a second
deployment of an operator whose first is still active must be refused (the one-deployment-per-
operator lock).

Baseline, same run: one worker runs PER_WORKER deployments queued at once; then three more
workers join and the four run 4 * PER_WORKER deployments of other operators queued at once.
Throughput is deployments finished / seconds from the first enqueue to the last finish. Goal:
four workers reach at least 3.5x the throughput of one. Prints Markdown, then `BENCH-JSON`.
BENCH_STEP_DELAY and BENCH_PER_WORKER in the environment override the two for experiments.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchlib import panel_app, panel_environment, quiet_logging
from processes import redis_server_program, start_redis, start_workers, stop_all, wait_for
from seeding import seed_operators

# Each simulated step waits this long; a real VM, bucket or nixops4 step waits longer still.
STEP_DELAY = float(os.environ.get("BENCH_STEP_DELAY", "0.75"))
PER_WORKER = int(os.environ.get("BENCH_PER_WORKER", "2"))
WORKERS = 4
GOAL = 3.5
RUN_LIMIT = 120.0


def deploy_all(app: Any, operator_ids: list[int]) -> tuple[list[int], bool]:
    """Queue one deployment per operator; return their ids and whether a second was refused."""
    from fedipanel.accounts.models import User
    from fedipanel.db import db
    from fedipanel.deployments.lifecycle import start_deployment
    from fedipanel.errors import Conflict
    from fedipanel.settings import effective

    with app.app_context():
        settings = effective.current()
        ids = [
            start_deployment(db.session.get(User, operator_id), settings).id
            for operator_id in operator_ids
        ]
        try:
            start_deployment(db.session.get(User, operator_ids[0]), settings)
            refused = False
        except Conflict:
            refused = True
        db.session.remove()
    return ids, refused


def statuses(app: Any, deployment_ids: list[int]) -> dict[str, int]:
    from sqlalchemy import func, select

    from fedipanel.db import db
    from fedipanel.deployments.models import Deployment

    with app.app_context():
        rows = db.session.execute(
            select(Deployment.status, func.count())
            .where(Deployment.id.in_(deployment_ids))
            .group_by(Deployment.status)
        ).all()
        db.session.remove()
    return {str(getattr(status, "value", status)): count for status, count in rows}


def run_batch(app: Any, operator_ids: list[int]) -> tuple[float, bool, dict[str, int]]:
    """Deploy for these operators; return the seconds until all ended, the lock check, outcomes."""
    start = time.perf_counter()
    ids, refused = deploy_all(app, operator_ids)

    def ended() -> dict[str, int] | None:
        counts = statuses(app, ids)
        active = counts.get("queued", 0) + counts.get("running", 0)
        return None if active else counts

    counts = wait_for(ended, RUN_LIMIT, f"{len(ids)} deployments to end", step=0.05)
    return time.perf_counter() - start, refused, counts


def main() -> int:
    program = redis_server_program()
    if program is None:
        sys.exit("redis-server is not installed (apt install redis-server)")
    processes: list[subprocess.Popen[bytes]] = []
    with tempfile.TemporaryDirectory(prefix="fedipanel-bench-workers-") as name:
        tmp = Path(name)
        try:
            redis_process, url = start_redis(program, tmp)
            processes.append(redis_process)
            env = panel_environment(tmp, REDIS_URL=url, SIMULATOR_STEP_DELAY=STEP_DELAY)
            with quiet_logging():
                app = panel_app(env)
                operators = [op for op, _token in seed_operators(app, PER_WORKER * (1 + WORKERS))]
                processes += start_workers(env, url, tmp, 1)
                one, refused_one, one_counts = run_batch(app, operators[:PER_WORKER])
                processes += start_workers(env, url, tmp, WORKERS - 1, first=2)
                many, refused_many, many_counts = run_batch(app, operators[PER_WORKER:])
        finally:
            stop_all(processes[1:])  # the workers, then redis-server
            stop_all(processes[:1])
    per_min_one = 60 * PER_WORKER / one
    per_min_many = 60 * WORKERS * PER_WORKER / many
    ratio = per_min_many / per_min_one
    failed = {k: v for k, v in (one_counts | many_counts).items() if k != "succeeded"}
    met = ratio >= GOAL and not failed and refused_one and refused_many
    print(
        f"redis-server + real `fedipanel worker` processes; every system simulated with "
        f"FEDIPANEL_SIMULATOR_STEP_DELAY={STEP_DELAY:g} s; {PER_WORKER} deployments per worker, "
        "each of another operator, all queued at once"
    )
    print(
        "a second deployment of an operator with an active one: "
        + ("refused (409) in both runs" if refused_one and refused_many else "**accepted**")
    )
    if failed:
        print(f"deployments that did not succeed: {failed}")
    print()
    print("| workers | deployments | seconds | deployments/min | ratio to one worker | goal |")
    print("|---|---|---|---|---|---|")
    print(f"| 1 (baseline) | {PER_WORKER} | {one:.1f} | {per_min_one:.1f} | 1.00 | - |")
    print(
        f"| {WORKERS} | {WORKERS * PER_WORKER} | {many:.1f} | {per_min_many:.1f} | {ratio:.2f} | "
        f">= {GOAL:g} {'yes' if met else '**no**'} |"
    )
    print()
    goal = {
        "what": f"workers: deployments/min with {WORKERS} workers / with 1",
        "figure": f"{ratio:.2f} ({per_min_many:.1f} / {per_min_one:.1f} per min)",
        "goal": f">= {GOAL:g}, lock held, all succeeded",
        "met": met,
    }
    print("BENCH-JSON " + json.dumps({"name": "workers", "goals": [goal]}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
