"""Latency from a line printed by nixops4 to that line in the browser page and in the JSON API.

Production shape when redis-server is installed: a throwaway redis-server, one `flask --app wsgi
fedipanel worker` and the panel under werkzeug's threaded server, all on 127.0.0.1 and one
temporary SQLite file; otherwise the panel's embedded queue. The panel runs the real nixops4 path,
which needs real machines: the four loopback pool VMs of tests/fakes/loopback_machines.py (a real
sshd each, as root, and fake services over TLS). nixops4 is bench/fake_nixops4_timed.py, which
stamps each line with its own `time.time()`.

Row 1, what the operator sees: headless chromium (Playwright) on `/deployments/<id>`, polling at
the page's own interval; a MutationObserver records when each line first shows in the page.
Row 2, the JSON API: a client polls `GET /api/v1/deployments/<id>` every POLL seconds (at the same
time) and records, for each line when first seen, now - stamp.

Baseline, same run, same API client: lines written straight to the database through the worker's
own write path (`Progress.log`) at the same pace, stamped just before the write. The ratio says
what the worker pipeline (pipe, reader threads, batching, commit) adds over polling alone.
Prints a Markdown table and, last, one `BENCH-JSON` line for bench/run_all.py.
"""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from benchlib import (
    BENCH,
    OPERATOR_EMAIL,
    PASSWORD,
    Client,
    Server,
    panel_app,
    panel_environment,
    quiet_logging,
    seed,
    stop_process,
)
from browser_watch import Watcher, chromium_available
from processes import redis_server_program, start_redis, start_workers, wait_for

FAKE = BENCH / "fake_nixops4_timed.py"
LINES = 60
PAUSE = (0.05, 0.1)
# nixops4 evaluates a while before its first line; the page is open by then.
FIRST_LINE_AFTER = 1.0
POLL = 0.05
RUN_LIMIT = 60.0  # seconds any one phase may take
GOAL_P95 = 1.5
STAMP = re.compile(r"^(bench|direct) line (\d+) of \d+ t=([0-9.]+)$")
FINISHED = {"succeeded", "failed", "cancelled"}


def sshd_program() -> str | None:
    return shutil.which("sshd") or next(
        (p for p in ("/usr/sbin/sshd", "/usr/local/sbin/sshd") if Path(p).exists()), None
    )


def poll(
    client: Client, deployment_id: int, prefix: str, count: int
) -> tuple[list[float], list[float]]:
    """Poll every POLL seconds until `count` `prefix` lines were seen (or the deployment ends).

    Returns the latencies in line order and the duration of each poll request.
    """
    first_seen: dict[int, float] = {}
    durations: list[float] = []
    state: dict[str, Any] = {}
    start = time.monotonic()
    next_poll = start
    while time.monotonic() - start < RUN_LIMIT:
        sent = time.perf_counter()
        state = client.get_json(f"/api/v1/deployments/{deployment_id}")
        now = time.time()
        durations.append(time.perf_counter() - sent)
        for line in state["log"]:
            match = STAMP.match(line)
            if match and match.group(1) == prefix:
                first_seen.setdefault(int(match.group(2)), now - float(match.group(3)))
        if len(first_seen) >= count or (prefix == "bench" and state["status"] in FINISHED):
            break
        next_poll += POLL
        time.sleep(max(0.0, next_poll - time.monotonic()))
    if len(first_seen) < count:
        raise RuntimeError(
            f"saw {len(first_seen)} of {count} {prefix} lines; status {state.get('status')}, "
            f"error {state.get('error')!r}"
        )
    return [first_seen[n] for n in sorted(first_seen)], durations


def finished(client: Client, deployment_id: int) -> dict[str, Any] | None:
    state: dict[str, Any] = client.get_json(f"/api/v1/deployments/{deployment_id}")
    return state if state["status"] in FINISHED else None


def write_directly(app: Any, deployment_id: int, stop: threading.Event) -> None:
    """Append stamped lines at the fake's pace through the worker's own write path."""
    from fedipanel.db import db
    from fedipanel.deployments.progress import Progress

    pause = random.Random(1)
    with app.app_context():
        progress = Progress(deployment_id)
        for number in range(1, LINES + 1):
            if stop.wait(pause.uniform(*PAUSE)):
                break
            progress.log([f"direct line {number} of {LINES} t={time.time():.6f}"])
        db.session.remove()


def percentile(values: list[float], share: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(share * len(ordered) + 0.5)))
    return ordered[rank - 1]


def summary(values: list[float]) -> dict[str, float]:
    return {
        "p50": percentile(values, 0.50),
        "p95": percentile(values, 0.95),
        "max": max(values),
    }


def measure(panel: Server, seeded: Any, app: Any, browser: bool) -> dict[str, Any]:
    """Deploy once, watched by the browser and the API poller; then the direct baseline."""
    client = Client(panel.port, {"Authorization": f"Bearer {seeded.token}"})
    results: dict[str, Any] = {}
    with (
        Watcher(f"http://127.0.0.1:{panel.port}", OPERATOR_EMAIL, PASSWORD)
        if browser
        else (_Nothing()) as watcher
    ):
        status, _headers, body = client.request(
            "POST", "/api/v1/deployments", b"{}", **{"Content-Type": "application/json"}
        )
        if status != 202:
            raise RuntimeError(f"POST /api/v1/deployments answered {status}: {body!r}")
        deployment_id = int(json.loads(body)["id"])
        if watcher:
            watcher.open(f"/deployments/{deployment_id}")

        def poll_api() -> None:
            poller = Client(panel.port, client.headers)
            try:
                results["api"] = poll(poller, deployment_id, "bench", LINES)
            except Exception as exc:  # reported in the main thread
                results["api_error"] = exc
            finally:
                poller.close()

        api_thread = threading.Thread(target=poll_api, daemon=True)
        api_thread.start()
        if watcher:
            results["browser"] = watcher.wait_for_lines("bench", LINES, RUN_LIMIT)
        api_thread.join(RUN_LIMIT + 10)
        if "api_error" in results:
            raise results["api_error"]
    state = wait_for(lambda: finished(client, deployment_id), RUN_LIMIT, "the deployment to end")
    if state["status"] != "succeeded":
        raise RuntimeError(f"the deployment {state['status']}: {state['error']}")

    stop = threading.Event()
    writer = threading.Thread(target=write_directly, args=(app, deployment_id, stop), daemon=True)
    writer.start()
    try:
        results["direct"] = poll(client, deployment_id, "direct", LINES)
    finally:
        stop.set()
        writer.join(10)
    client.close()
    return results


class _Nothing:
    """Stands in for the browser when chromium is missing."""

    def __enter__(self) -> None:
        return None

    def __exit__(self, *_exc: object) -> None:
        return None


def main() -> int:
    from tests.fakes.loopback_machines import loopback_machines

    # --embedded measures the fallback shape even where redis-server is installed.
    redis_program = None if "--embedded" in sys.argv[1:] else redis_server_program()
    sshd = sshd_program()
    if sshd is None or os.geteuid() != 0:
        sys.exit("the loopback machines need sshd (apt install openssh-server) and root")
    no_browser = chromium_available()
    if not os.access(FAKE, os.X_OK):  # a checkout that lost the executable bit
        FAKE.chmod(0o755)
    processes: list[subprocess.Popen[bytes]] = []
    with tempfile.TemporaryDirectory(prefix="fedipanel-bench-latency-") as name:
        tmp = Path(name)
        (tmp / "machines").mkdir()
        with loopback_machines(tmp / "machines", sshd) as machines:
            try:
                settings: dict[str, Any] = machines.settings(NIXOPS4=FAKE, HEARTBEAT_INTERVAL=1)
                if redis_program:
                    redis_process, url = start_redis(redis_program, tmp)
                    processes.append(redis_process)
                    settings["REDIS_URL"] = url
                    shape = "redis-server + `fedipanel worker` (RQ) + werkzeug threaded server"
                else:
                    why = "--embedded" if "--embedded" in sys.argv[1:] else "no redis-server found"
                    shape = f"embedded queue in the werkzeug threaded server ({why})"
                env = panel_environment(tmp, **settings)
                env.update(
                    BENCH_FAKE_LINES=str(LINES),
                    BENCH_FAKE_MIN=str(PAUSE[0]),
                    BENCH_FAKE_MAX=str(PAUSE[1]),
                    BENCH_FAKE_START=str(FIRST_LINE_AFTER),
                )
                with quiet_logging():
                    app = panel_app(env)
                    seeded = seed(app)
                    machines.install(app)
                if redis_program:
                    processes += start_workers(env, settings["REDIS_URL"], tmp)
                with Server("app", env, tmp / "panel.log") as panel:
                    results = measure(panel, seeded, app, browser=no_browser is None)
            finally:
                for process in reversed(processes):
                    stop_process(process)
    report(shape, results, no_browser)
    return 0


def report(shape: str, results: dict[str, Any], no_browser: str | None) -> None:
    """Print the table and the BENCH-JSON line."""
    api, api_polls = results["api"]
    direct, direct_polls = results["direct"]
    nix, base = summary(api), summary(direct)
    polls = api_polls + direct_polls
    poll_ms = 1000 * sum(polls) / len(polls)
    ratio = nix["p95"] / base["p95"]
    print(
        f"{shape}; four loopback pool VMs (real sshd); fake nixops4 prints {LINES} lines "
        f"{PAUSE[0]:g}-{PAUSE[1]:g} s apart; the page polls at its own interval (every 1 s), "
        f"the API client every {POLL * 1000:.0f} ms (mean poll request {poll_ms:.1f} ms)"
    )
    print()
    print("| path | p50 (s) | p95 (s) | max (s) | goal | meets |")
    print("|---|---|---|---|---|---|")
    goals = []
    if "browser" in results:
        page = summary(results["browser"])
        met = page["p95"] < GOAL_P95
        print(
            f"| nixops4 line -> browser page (chromium) | {page['p50']:.3f} | {page['p95']:.3f} "
            f"| {page['max']:.3f} | p95 < {GOAL_P95:g} s | {'yes' if met else '**no**'} |"
        )
        goals.append(
            {
                "what": "log latency: nixops4 line -> browser page, p95",
                "figure": f"{page['p95']:.3f} s (page polls every 1 s)",
                "goal": f"< {GOAL_P95:g} s",
                "met": met,
            }
        )
    else:
        print(f"| nixops4 line -> browser page | - | - | - | not measured: {no_browser} | **no** |")
        goals.append(
            {
                "what": "log latency: nixops4 line -> browser page, p95",
                "figure": f"not measured: {no_browser}",
                "goal": f"< {GOAL_P95:g} s",
                "met": False,
            }
        )
    met = nix["p95"] < GOAL_P95
    print(
        f"| nixops4 line -> API | {nix['p50']:.3f} | {nix['p95']:.3f} | {nix['max']:.3f} | "
        f"p95 < {GOAL_P95:g} s | {'yes' if met else '**no**'} |"
    )
    print(
        f"| line written to the database -> API (baseline) | {base['p50']:.3f} | "
        f"{base['p95']:.3f} | {base['max']:.3f} | baseline | - |"
    )
    print(
        f"| ratio nixops4 -> API / baseline | {nix['p50'] / base['p50']:.2f} | {ratio:.2f} | "
        f"{nix['max'] / base['max']:.2f} | - | - |"
    )
    print()
    goals.append(
        {
            "what": "log latency: nixops4 line -> API, p95",
            "figure": f"{nix['p95']:.3f} s ({ratio:.2f} x the direct-insert baseline)",
            "goal": f"< {GOAL_P95:g} s",
            "met": met,
        }
    )
    print("BENCH-JSON " + json.dumps({"name": "log_latency", "goals": goals}))


if __name__ == "__main__":
    sys.exit(main())
