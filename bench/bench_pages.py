"""Requests per second of the panel's pages, as a ratio to a bare Flask app served alike.

The real panel (temporary SQLite: an operator with a saved configuration, 50 earlier deployments
and one with ~200 log lines; 1,000 more operators with 100 deployments each) and a one-route
Flask app each run in their own process on 127.0.0.1, first under werkzeug's threaded server,
then under gunicorn (gthread workers). The same keep-alive client (THREADS connections,
http.client) sends a fixed number of GETs to each, after a warm-up, in interleaved rounds, summed.
Nothing writes while a page is measured, so after the warm-up the pages come from the page cache
(fedipanel/web/page_cache.py); the in-process profile at the end also shows each page built.
Prints a Markdown table per server and, last, one `BENCH-JSON` line for bench/run_all.py.
"""

from __future__ import annotations

import html
import json
import re
import signal
import sys
import tempfile
import urllib.parse
from pathlib import Path
from typing import Any

import page_profile
from benchlib import (
    GUNICORN_THREADS,
    GUNICORN_WORKERS,
    PROVIDER_EMAIL,
    SERVERS,
    Client,
    LoadResult,
    Server,
    add_deployments,
    add_operators,
    bare_app,
    clean_environment,
    load,
    login,
    panel_app,
    panel_environment,
    quiet_logging,
    seed,
)

REQUESTS = 800  # per page, split over the rounds
SHORT_REQUESTS = 400  # extra figures, kept short
WARMUP = 60  # per round and page, spread over the connections
THREADS = 4
ROUNDS = 4
LOG_LINES = 200
HISTORY = 50
OPERATORS = 1000
DEPLOYMENTS_EACH = 100
OPERATORS_PAGE = 10  # a page in the middle of the list, not just the first one
GOAL = 0.5

ROWS: list[tuple[str, str, float | None]] = [
    ("bare Flask endpoint (baseline)", "bare", None),
    ("the panel's own /healthz (same app, no page work)", "healthz", None),
    ("(a) operator dashboard", "dashboard", GOAL),
    (f"(b) progress poll, running, {LOG_LINES} log lines, nothing new (204)", "poll", GOAL),
    (f"(c) deployments list ({HISTORY + 1} deployments)", "list", GOAL),
    (
        f"(d) provider's operators page {OPERATORS_PAGE} ({OPERATORS:,} operators, "
        f"{DEPLOYMENTS_EACH} deployments each)",
        "operators",
        GOAL,
    ),
    (f"progress card in full (first poll), {LOG_LINES} log lines", "card", None),
    (f"API GET /api/v1/deployments/<id> ({LOG_LINES} log lines)", "api", None),
]


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


def poll_path(port: int, path: str, headers: dict[str, str]) -> str:
    """Return the URL the page's next poll asks for: the card's hx-get with its hx-vals."""
    client = Client(port, headers)
    try:
        status, _h, body = client.request("GET", path)
    finally:
        client.close()
    found = re.search(rb"hx-vals='([^']*)'", body)
    if status != 200 or found is None:
        raise RuntimeError(f"GET {path} answered {status} without a polling status line")
    values = json.loads(html.unescape(found.group(1).decode()))
    return f"{path}?{urllib.parse.urlencode(values)}"


def measure(server: str, app: Any, env: dict[str, str], tmp: Path, seeded: Any) -> dict[str, Any]:
    """Load every page under `server`; return the summed results by key."""
    deployment = seeded.deployment_id
    totals: dict[str, LoadResult] = {}

    def add(key: str, result: LoadResult) -> None:
        if result.errors:
            raise RuntimeError(f"{server} {key}: {result.errors} unexpected statuses")
        if result.cookies_set:
            print(f"note: {result.cookies_set} {key} responses set a cookie", file=sys.stderr)
        seen = totals.setdefault(key, LoadResult(0, 0.0, 0, 0, result.bytes_per_response))
        seen.requests += result.requests
        seen.seconds += result.seconds

    with (
        Server("bare", clean_environment(), tmp / f"bare-{server}.log", server) as bare,
        Server("app", env, tmp / f"panel-{server}.log", server) as panel,
    ):
        cookie = login(panel.port)
        page = {"Cookie": cookie}
        fragment = {"Cookie": cookie, "HX-Request": "true"}
        provider = {"Cookie": login(panel.port, PROVIDER_EMAIL)}
        api = {"Authorization": f"Bearer {seeded.token}"}
        path = f"/deployments/{deployment}"
        set_status(app, deployment, "running")
        poll = poll_path(panel.port, path, fragment)
        operators = f"/provider/operators?page={OPERATORS_PAGE}"
        # Rounds alternate the targets, so a busy moment on the machine hits all of them.
        for _round in range(ROUNDS):
            common = {"total": REQUESTS // ROUNDS, "threads": THREADS, "warmup": WARMUP}
            short = {**common, "total": SHORT_REQUESTS // ROUNDS}
            add("bare", load(bare.port, "/", **common))
            add("healthz", load(panel.port, "/healthz", **common))
            set_status(app, deployment, "succeeded")
            add("dashboard", load(panel.port, "/dashboard", headers=page, **common))
            add("list", load(panel.port, "/deployments", headers=page, **common))
            add("operators", load(panel.port, operators, headers=provider, **common))
            set_status(app, deployment, "running")
            add("poll", load(panel.port, poll, headers=fragment, expect=204, **common))
            add("card", load(panel.port, path, headers=fragment, **short))
            add("api", load(panel.port, f"/api/v1{path}", headers=api, **short))
        set_status(app, deployment, "succeeded")
        if server == SERVERS[0]:
            totals["profile"] = profile(app, page, provider, path, operators, poll)
    return totals


def profile(
    app: Any, page: dict[str, str], provider: dict[str, str], path: str, operators: str, poll: str
) -> list[tuple[str, page_profile.Cost]]:
    """Cost each goal page in-process, with the cookies the servers gave (same secret key).

    Each page twice: as served again from the page cache (what the servers above measure after
    their warm-up), and as built, by a second app on the same database with the cache off.
    """
    built = panel_app({**app.config["BENCH_ENV"], "FEDIPANEL_PAGE_CACHE_SECONDS": "0"})
    fragment = {**page, "HX-Request": "true"}
    rows = []
    for label, target, headers in (
        ("(a) operator dashboard", "/dashboard", page),
        ("(c) deployments list", "/deployments", page),
        ("(d) provider's operators page", operators, provider),
    ):
        rows.append((f"{label}, from the cache", page_profile.cost(app, target, headers)))
        rows.append((f"{label}, built", page_profile.cost(built, target, headers)))
    deployment = int(path.rsplit("/", 1)[1])
    set_status(app, deployment, "running")
    rows.insert(2, ("(b) progress poll, nothing new", page_profile.cost(app, poll, fragment, 204)))
    set_status(app, deployment, "succeeded")
    return rows


def report(server: str, totals: dict[str, Any]) -> list[dict[str, Any]]:
    """Print one server's table; return its goals for BENCH-JSON."""
    base = totals["bare"].rps
    if server == "gunicorn":
        how = f"gunicorn -w {GUNICORN_WORKERS} -k gthread --threads {GUNICORN_THREADS}"
    else:
        how = "werkzeug threaded server"
    print(
        f"**{how}**, {THREADS} keep-alive client connections, {REQUESTS} requests per page "
        f"({SHORT_REQUESTS} for the last two) in {ROUNDS} interleaved rounds (each after "
        f"{WARMUP} warm-up requests); requests/s = requests / summed wall time"
    )
    print()
    print("| page | requests/s | ratio to bare | response bytes | goal | meets |")
    print("|---|---|---|---|---|---|")
    goals = []
    for label, key, goal in ROWS:
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
                    "what": f"pages ({server}): {label} rps / bare rps",
                    "figure": f"{ratio:.2f} ({result.rps:.0f} / {base:.0f} req/s)",
                    "goal": f">= {goal}",
                    "met": bool(met),
                }
            )
    print(flush=True)
    return goals


def main() -> int:
    # Stopped from outside, still stop the servers this benchmark started (the `with` blocks).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    with tempfile.TemporaryDirectory(prefix="fedipanel-bench-pages-") as name:
        tmp = Path(name)
        # Nothing is reaped as stale while the benchmark holds the row at "running".
        env = panel_environment(tmp, STALE_AFTER=3600)
        with quiet_logging():
            app = panel_app(env)
            app.config["BENCH_ENV"] = env
            seeded = seed(app, log_lines=LOG_LINES, history=HISTORY)
            add_deployments(app, add_operators(app, OPERATORS), DEPLOYMENTS_EACH)
        goals = []
        rows: list[tuple[str, page_profile.Cost]] = []
        for server in SERVERS:
            totals = measure(server, app, env, tmp, seeded)
            rows = totals.pop("profile", rows)
            goals += report(server, totals)
        page_profile.report(page_profile.cost(bare_app(), "/", {}), rows)
    print("BENCH-JSON " + json.dumps({"name": "pages", "goals": goals}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
