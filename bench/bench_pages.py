"""Requests per second of the operator's pages, as a ratio to a bare Flask app served alike.

The real panel (temporary SQLite, an operator with a saved configuration and one deployment with
~200 log lines) and a one-route Flask app each run in their own process under werkzeug's threaded
server on 127.0.0.1. The same keep-alive client (THREADS connections, http.client) sends a fixed
number of GETs to each, after a warm-up, in interleaved rounds, summed.
Prints a Markdown table and, last, one `BENCH-JSON` line for bench/run_all.py.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

from benchlib import (
    LoadResult,
    Server,
    clean_environment,
    load,
    login,
    panel_app,
    panel_environment,
    quiet_logging,
    seed,
)

REQUESTS = 2000  # per page, split over the rounds
API_REQUESTS = 600  # an extra figure, kept short
WARMUP = 60  # per round and page, spread over the connections
THREADS = 4
ROUNDS = 4
LOG_LINES = 200
GOAL = 0.5


def set_status(app: object, deployment_id: int, status: str) -> None:
    """Flip the deployment between running (the fragment polls) and succeeded."""
    from sqlalchemy import update

    from fedipanel.db import db
    from fedipanel.deployments.models import Deployment
    from fedipanel.timeutil import utcnow

    with app.app_context():  # type: ignore[attr-defined]
        db.session.execute(
            update(Deployment)
            .where(Deployment.id == deployment_id)
            .values(status=status, heartbeat_at=utcnow(), finished_at=None, phase="Running nixops4")
        )
        db.session.commit()
        db.session.remove()


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="fedipanel-bench-pages-") as name:
        tmp = Path(name)
        # Nothing is reaped as stale while the benchmark holds the row at "running".
        env = panel_environment(tmp, STALE_AFTER=3600)
        with quiet_logging():
            app = panel_app(env)
            seeded = seed(app, log_lines=LOG_LINES)
        deployment = seeded.deployment_id
        totals: dict[str, LoadResult] = {}

        def add(key: str, result: LoadResult) -> None:
            if result.errors:
                raise RuntimeError(f"{key}: {result.errors} unexpected statuses")
            if result.cookies_set:
                print(f"note: {result.cookies_set} {key} responses set a cookie", file=sys.stderr)
            seen = totals.setdefault(key, LoadResult(0, 0.0, 0, 0, result.bytes_per_response))
            seen.requests += result.requests
            seen.seconds += result.seconds

        bare_env = clean_environment()
        with (
            Server("bare", bare_env, tmp / "bare.log") as bare,
            Server("app", env, tmp / "panel.log") as panel,
        ):
            cookie = login(panel.port)
            page = {"Cookie": cookie}
            fragment = {"Cookie": cookie, "HX-Request": "true"}
            api = {"Authorization": f"Bearer {seeded.token}"}
            path = f"/deployments/{deployment}"
            # Rounds alternate the targets, so a busy moment on the machine hits all of them.
            for _round in range(ROUNDS):
                common = {"total": REQUESTS // ROUNDS, "threads": THREADS, "warmup": WARMUP}
                add("bare", load(bare.port, "/", **common))
                add("healthz", load(panel.port, "/healthz", **common))
                set_status(app, deployment, "succeeded")
                add("dashboard", load(panel.port, "/dashboard", headers=page, **common))
                set_status(app, deployment, "running")
                add("fragment", load(panel.port, path, headers=fragment, **common))
                common["total"] = API_REQUESTS // ROUNDS
                add("api", load(panel.port, f"/api/v1{path}", headers=api, **common))
            set_status(app, deployment, "succeeded")

    base = totals["bare"].rps
    rows = [
        ("bare Flask endpoint (baseline)", "bare", None),
        ("the panel's own /healthz (same app, no page work)", "healthz", None),
        ("(a) operator dashboard", "dashboard", GOAL),
        (f"(b) progress fragment, HX-Request, running, {LOG_LINES} log lines", "fragment", GOAL),
        (f"API GET /api/v1/deployments/<id> ({LOG_LINES} log lines)", "api", None),
    ]
    print(
        f"werkzeug threaded server, {THREADS} keep-alive client connections, "
        f"{REQUESTS} requests per page in {ROUNDS} interleaved rounds (each after "
        f"{WARMUP} warm-up requests); requests/s = requests / summed wall time"
    )
    print()
    print("| page | requests/s | ratio to bare | response bytes | goal | meets |")
    print("|---|---|---|---|---|---|")
    goals = []
    for label, key, goal in rows:
        result = totals[key]
        ratio = result.rps / base
        met = None if goal is None else ratio >= goal
        goal_text = "baseline" if key == "bare" else ("-" if goal is None else f">= {goal}")
        meets = "-" if met is None else ("yes" if met else "**no**")
        print(
            f"| {label} | {result.rps:.0f} | {ratio:.2f} | {result.bytes_per_response} | "
            f"{goal_text} | {meets} |"
        )
        if goal is not None:
            goals.append(
                {
                    "what": f"pages: {label} rps / bare rps",
                    "figure": f"{ratio:.2f} ({result.rps:.0f} / {base:.0f} req/s)",
                    "goal": f">= {goal}",
                    "met": bool(met),
                }
            )
    print()
    print("BENCH-JSON " + json.dumps({"name": "pages", "goals": goals}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
