"""Resident memory of the web process and of a worker after 10,000 requests and 100 deployments.

Production shape: a throwaway redis-server, one `flask fedipanel worker` and the panel under
werkzeug's threaded server, on one temporary SQLite file. Client threads send REQUESTS requests,
a mix of the operator's pages (with the session of a real login) and JSON API calls (bearer
token), while another thread deploys DEPLOYMENTS times through the API, spread over a few
operators (each deploys again once its previous deployment ended), every system simulated.

RSS is VmRSS from /proc/<pid>/status (psutil is not a dependency), sampled twice a second: the
web process, the worker, and the worker's work horses (one forked per job). Reported at start
(both idle, after start-up), at the end, and the peak. Goals: web < 150 MB, worker < 200 MB,
both at their peak. Prints Markdown, then `BENCH-JSON`.
"""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from benchlib import (
    Client,
    Server,
    login,
    panel_app,
    panel_environment,
    quiet_logging,
    seed,
)
from processes import (
    redis_server_program,
    rss_mb,
    start_redis,
    start_workers,
    stop_all,
)
from seeding import seed_operators

REQUESTS = 10_000
DEPLOYMENTS = 100
OPERATORS = 5
THREADS = 4
WEB_GOAL = 150.0
WORKER_GOAL = 200.0
RUN_LIMIT = 240.0
JSON = {"Content-Type": "application/json"}


def children(pid: int) -> list[int]:
    """Return the ids of the child processes of `pid` (a worker's work horses)."""
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            found += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            continue
    return found


class Sampler(threading.Thread):
    """Samples the RSS of the web process, the worker and its horses until stopped."""

    def __init__(self, web: int, worker: int) -> None:
        super().__init__(daemon=True)
        self.web, self.worker = web, worker
        self.peak = {"web": 0.0, "worker": 0.0, "horse": 0.0}
        self.stop = threading.Event()

    def sample(self) -> None:
        self.peak["web"] = max(self.peak["web"], rss_mb(self.web))
        self.peak["worker"] = max(self.peak["worker"], rss_mb(self.worker))
        for horse in children(self.worker):
            try:
                self.peak["horse"] = max(self.peak["horse"], rss_mb(horse))
            except (OSError, RuntimeError):  # the horse ended meanwhile
                continue

    def run(self) -> None:
        while not self.stop.wait(0.5):
            try:
                self.sample()
            except FileNotFoundError:  # a process ended: main() reports why
                return


def request_mix(deployment_id: int) -> list[tuple[str, str, bytes | None, dict[str, str]]]:
    """The requests, as (kind, method path, body, headers): pages and API calls."""
    page = f"/deployments/{deployment_id}"
    return [
        ("page", "/dashboard", None, {}),
        ("page", "/configuration", None, {}),
        ("page", "/plan", None, {}),
        ("page", "/deployments", None, {}),
        ("page", page, None, {}),
        ("page", page, None, {"HX-Request": "true"}),
        ("page", "/configuration/history", None, {}),
        ("api", "/api/v1/configuration", None, {}),
        ("api", "/api/v1/deployments", None, {}),
        ("api", f"/api/v1{page}", None, {}),
        ("api", "/api/v1/schema", None, {}),
        ("api", "POST /api/v1/plan", b"{}", JSON),
    ]


def send(
    clients: dict[str, Client], request: tuple[str, str, bytes | None, dict[str, str]]
) -> bool:
    """Send one request; tell whether it answered as expected."""
    kind, target, body, headers = request
    method, _, path = target.rpartition(" ")
    status, _headers, _data = clients[kind].request(method or "GET", path, body, **headers)
    # A finished deployment's progress fragment answers 286: htmx stops polling.
    return status == 200 or (status == 286 and "HX-Request" in headers)


def hammer(port: int, cookie: str, token: str, deployment_id: int) -> tuple[int, int, float]:
    """Send REQUESTS requests from THREADS connections; return (sent, errors, seconds)."""
    mix = request_mix(deployment_id)
    probe = {"page": Client(port, {"Cookie": cookie}), "api": Client(port, auth(token))}
    for request in mix:  # every kind must answer before the load starts
        if not send(probe, request):
            raise RuntimeError(f"{request[1]} did not answer 200")
    counter = itertools.count()
    totals = [0, 0]
    lock = threading.Lock()

    def run(offset: int) -> None:
        clients = {"page": Client(port, {"Cookie": cookie}), "api": Client(port, auth(token))}
        sent = errors = 0
        while (n := next(counter)) < REQUESTS:
            sent += 1
            errors += not send(clients, mix[(n + offset) % len(mix)])
        with lock:
            totals[0] += sent
            totals[1] += errors

    start = time.perf_counter()
    threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(RUN_LIMIT)
    return totals[0], totals[1], time.perf_counter() - start


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def deploy_many(port: int, tokens: list[str], outcomes: dict[str, Any]) -> None:
    """Deploy DEPLOYMENTS times through the API, each operator again once its last one ended."""
    try:
        _deploy_many(port, tokens, outcomes)
    except Exception as exc:  # reported by main()
        outcomes["error"] = exc


def _deploy_many(port: int, tokens: list[str], outcomes: dict[str, Any]) -> None:
    clients = [Client(port, auth(token)) for token in tokens]
    active: dict[int, int] = {}
    started = 0
    deadline = time.monotonic() + RUN_LIMIT
    while (started < DEPLOYMENTS or active) and time.monotonic() < deadline:
        for n, client in enumerate(clients):
            if n in active:
                state = client.get_json(f"/api/v1/deployments/{active[n]}")
                if state["status"] in ("queued", "running"):
                    continue
                outcomes[state["status"]] = outcomes.get(state["status"], 0) + 1
                del active[n]
            if started < DEPLOYMENTS:
                status, _h, body = client.request("POST", "/api/v1/deployments", b"{}", **JSON)
                if status != 202:
                    raise RuntimeError(f"POST /api/v1/deployments answered {status}: {body!r}")
                active[n] = int(json.loads(body)["id"])
                started += 1
        time.sleep(0.2)


def main() -> int:
    program = redis_server_program()
    if program is None:
        sys.exit("redis-server is not installed (apt install redis-server)")
    processes: list[subprocess.Popen[bytes]] = []
    outcomes: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="fedipanel-bench-memory-") as name:
        tmp = Path(name)
        try:
            redis_process, url = start_redis(program, tmp)
            processes.append(redis_process)
            env = panel_environment(tmp, REDIS_URL=url)
            with quiet_logging():
                app = panel_app({**env, "FEDIPANEL_REDIS_URL": ""})
                seeded = seed(app, log_lines=200)
                tokens = [token for _id, token in seed_operators(app, OPERATORS)]
            processes += start_workers(env, url, tmp)
            worker = processes[-1]
            with Server("app", env, tmp / "panel.log") as panel:
                assert panel.process is not None
                cookie = login(panel.port)
                time.sleep(1)  # both idle after start-up
                start = {"web": rss_mb(panel.process.pid), "worker": rss_mb(worker.pid)}
                sampler = Sampler(panel.process.pid, worker.pid)
                sampler.sample()
                sampler.start()
                deployer = threading.Thread(
                    target=deploy_many, args=(panel.port, tokens, outcomes), daemon=True
                )
                deployer.start()
                sent, errors, seconds = hammer(
                    panel.port, cookie, seeded.token, seeded.deployment_id
                )
                print(f"requests done in {seconds:.0f} s", file=sys.stderr, flush=True)
                deployer.join(RUN_LIMIT)
                print(f"deployments done: {outcomes}", file=sys.stderr, flush=True)
                if "error" in outcomes:
                    raise outcomes["error"]
                sampler.stop.set()
                sampler.join()
                sampler.sample()
                end = {"web": rss_mb(panel.process.pid), "worker": rss_mb(worker.pid)}
        finally:
            stop_all(processes[1:])
            stop_all(processes[:1])
    report(start, end, sampler.peak, sent, errors, seconds, outcomes)
    return 0


def report(
    start: dict[str, float],
    end: dict[str, float],
    peak: dict[str, float],
    sent: int,
    errors: int,
    seconds: float,
    outcomes: dict[str, int],
) -> None:
    """Print the table and the BENCH-JSON line."""
    finished = sum(outcomes.values())
    web_met = peak["web"] < WEB_GOAL and sent >= REQUESTS and not errors
    worker_met = max(peak["worker"], peak["horse"]) < WORKER_GOAL and finished >= DEPLOYMENTS
    print(
        f"redis-server + one `fedipanel worker` + werkzeug threaded server; {sent} requests "
        f"({errors} not 200) from {THREADS} connections in {seconds:.0f} s, a mix of 7 operator "
        f"pages and 5 API calls; {finished} deployments through the API over {OPERATORS} "
        f"operators meanwhile ({outcomes}); RSS from /proc/<pid>/status"
    )
    print()
    print("| process | RSS at start (MB) | RSS at the end (MB) | peak (MB) | goal | meets |")
    print("|---|---|---|---|---|---|")
    print(
        f"| web (werkzeug threaded server) | {start['web']:.0f} | {end['web']:.0f} | "
        f"{peak['web']:.0f} | < {WEB_GOAL:.0f} MB | {'yes' if web_met else '**no**'} |"
    )
    print(
        f"| worker (`fedipanel worker`) | {start['worker']:.0f} | {end['worker']:.0f} | "
        f"{peak['worker']:.0f} | < {WORKER_GOAL:.0f} MB | {'yes' if worker_met else '**no**'} |"
    )
    print(
        "| the worker's children (a work horse per job, RQ's scheduler) | - | - | "
        f"{peak['horse']:.0f} | "
        f"< {WORKER_GOAL:.0f} MB | - |"
    )
    print()
    worker_peak = max(peak["worker"], peak["horse"])
    goals = [
        {
            "what": f"memory: web process after {REQUESTS:,} requests, peak RSS",
            "figure": f"{peak['web']:.0f} MB (at start {start['web']:.0f} MB)",
            "goal": f"< {WEB_GOAL:.0f} MB",
            "met": web_met,
        },
        {
            "what": f"memory: worker after {DEPLOYMENTS} deployments, peak RSS (horses too)",
            "figure": f"{worker_peak:.0f} MB (at start {start['worker']:.0f} MB)",
            "goal": f"< {WORKER_GOAL:.0f} MB",
            "met": worker_met,
        },
    ]
    print("BENCH-JSON " + json.dumps({"name": "memory", "goals": goals}))


if __name__ == "__main__":
    sys.exit(main())
