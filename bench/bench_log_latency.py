"""Latency from a line printed by nixops4 to that line in `GET /api/v1/deployments/<id>`.

Production shape when /usr/bin/redis-server (or one on PATH) exists: a throwaway redis-server,
one `flask --app wsgi fedipanel worker` and the panel under werkzeug's threaded server, all on
127.0.0.1 and one temporary SQLite file; otherwise the panel's embedded queue. nixops4 is
bench/fake_nixops4_timed.py, which stamps each line with its own `time.time()`. A client polls
the API every POLL seconds and records, for each line when first seen, now - stamp.

Baseline, same run, same client: lines written straight to the database through the worker's
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
    ROOT,
    Client,
    Server,
    free_port,
    panel_app,
    panel_environment,
    quiet_logging,
    seed,
    stop_process,
)

FAKE = BENCH / "fake_nixops4_timed.py"
LINES = 60
PAUSE = (0.05, 0.1)
POLL = 0.05
RUN_LIMIT = 60.0  # seconds any one phase may take
GOAL_P95 = 1.5
STAMP = re.compile(r"^(bench|direct) line (\d+) of \d+ t=([0-9.]+)$")
FINISHED = {"succeeded", "failed", "cancelled"}


def redis_server_program() -> str | None:
    return shutil.which("redis-server") or (
        "/usr/bin/redis-server" if Path("/usr/bin/redis-server").exists() else None
    )


def wait_for(condition: Any, timeout: float, what: str, step: float = 0.1) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(step)
    raise RuntimeError(f"timed out after {timeout:g} s waiting for {what}")


def start_redis(program: str, tmp: Path) -> tuple[subprocess.Popen[bytes], str]:
    from redis import Redis

    port = free_port()
    with (tmp / "redis.log").open("wb") as log:
        process = subprocess.Popen(
            [
                program,
                "--port",
                str(port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(tmp),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    url = f"redis://127.0.0.1:{port}/0"

    def answers() -> bool:
        if process.poll() is not None:
            raise RuntimeError(f"redis-server exited: {(tmp / 'redis.log').read_text()}")
        try:
            return bool(Redis.from_url(url).ping())
        except Exception:  # redis.ConnectionError is not an OSError
            return False

    wait_for(answers, 10, "redis-server to answer")
    return process, url


def start_worker(env: dict[str, str], url: str, tmp: Path) -> subprocess.Popen[bytes]:
    from redis import Redis
    from rq import Worker

    with (tmp / "worker.log").open("wb") as log:
        process = subprocess.Popen(
            [str(ROOT / ".venv" / "bin" / "flask"), "--app", "wsgi", "fedipanel", "worker"],
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    connection = Redis.from_url(url)

    def registered() -> bool:
        if process.poll() is not None:
            raise RuntimeError(f"worker exited: {(tmp / 'worker.log').read_text()}")
        return len(Worker.all(connection=connection)) >= 1

    wait_for(registered, 30, "the RQ worker to register")
    connection.close()
    return process


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


def main() -> int:
    # --embedded measures the fallback shape even where redis-server is installed.
    redis_program = None if "--embedded" in sys.argv[1:] else redis_server_program()
    if not os.access(FAKE, os.X_OK):  # a checkout that lost the executable bit
        FAKE.chmod(0o755)
    processes: list[subprocess.Popen[bytes]] = []
    with tempfile.TemporaryDirectory(prefix="fedipanel-bench-latency-") as name:
        tmp = Path(name)
        try:
            settings: dict[str, Any] = {"NIXOPS4": FAKE, "HEARTBEAT_INTERVAL": 1}
            if redis_program:
                redis_process, url = start_redis(redis_program, tmp)
                processes.append(redis_process)
                settings["REDIS_URL"] = url
                shape = "redis-server + `flask fedipanel worker` (RQ) + werkzeug threaded server"
            else:
                why = "--embedded" if "--embedded" in sys.argv[1:] else "no redis-server found"
                shape = f"embedded queue in the werkzeug threaded server ({why})"
            env = panel_environment(tmp, **settings)
            env.update(
                BENCH_FAKE_LINES=str(LINES),
                BENCH_FAKE_MIN=str(PAUSE[0]),
                BENCH_FAKE_MAX=str(PAUSE[1]),
            )
            with quiet_logging():
                app = panel_app(env)
                seeded = seed(app)
            if redis_program:
                processes.append(start_worker(env, settings["REDIS_URL"], tmp))
            with Server("app", env, tmp / "panel.log") as panel:
                client = Client(panel.port, {"Authorization": f"Bearer {seeded.token}"})
                status, _headers, body = client.request(
                    "POST",
                    "/api/v1/deployments",
                    b"{}",
                    **{"Content-Type": "application/json"},
                )
                if status != 202:
                    raise RuntimeError(f"POST /api/v1/deployments answered {status}: {body!r}")
                deployment_id = int(json.loads(body)["id"])
                pipeline, pipeline_polls = poll(client, deployment_id, "bench", LINES)
                state = wait_for(
                    lambda: finished(client, deployment_id), RUN_LIMIT, "the deployment to finish"
                )
                if state["status"] != "succeeded":
                    raise RuntimeError(f"the deployment {state['status']}: {state['error']}")

                stop = threading.Event()
                writer = threading.Thread(
                    target=write_directly, args=(app, deployment_id, stop), daemon=True
                )
                writer.start()
                try:
                    direct, direct_polls = poll(client, deployment_id, "direct", LINES)
                finally:
                    stop.set()
                    writer.join(10)
                client.close()
        finally:
            for process in reversed(processes):
                stop_process(process)

    nix, base = summary(pipeline), summary(direct)
    poll_ms = 1000 * sum(pipeline_polls + direct_polls) / len(pipeline_polls + direct_polls)
    ratio = nix["p95"] / base["p95"]
    met = nix["p95"] < GOAL_P95
    print(
        f"{shape}; fake nixops4 prints {LINES} lines {PAUSE[0]:g}-{PAUSE[1]:g} s apart; "
        f"API polled every {POLL * 1000:.0f} ms (mean poll request {poll_ms:.1f} ms)"
    )
    print()
    print("| path | p50 (s) | p95 (s) | max (s) | goal | meets |")
    print("|---|---|---|---|---|---|")
    print(
        f"| nixops4 line -> API | {nix['p50']:.3f} | {nix['p95']:.3f} | {nix['max']:.3f} | "
        f"p95 < {GOAL_P95:g} s | {'yes' if met else '**no**'} |"
    )
    print(
        f"| line written to the database -> API (baseline) | {base['p50']:.3f} | "
        f"{base['p95']:.3f} | {base['max']:.3f} | baseline | - |"
    )
    print(
        f"| ratio nixops4 / baseline | {nix['p50'] / base['p50']:.2f} | {ratio:.2f} | "
        f"{nix['max'] / base['max']:.2f} | - | - |"
    )
    print()
    goal = {
        "what": "log latency: nixops4 line -> API, p95",
        "figure": f"{nix['p95']:.3f} s ({ratio:.2f} x the direct-insert baseline)",
        "goal": f"< {GOAL_P95:g} s",
        "met": met,
    }
    print("BENCH-JSON " + json.dumps({"name": "log_latency", "goals": [goal]}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
