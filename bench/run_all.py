"""Run every benchmark and write docs/benchmarks.md (`make bench`).

Each benchmark runs as its own process and prints its figures as Markdown, then one line
`BENCH-JSON {"name": ..., "goals": [{"what", "figure", "goal", "met"}]}`. This is a report:
a missed goal is printed loudly but still exits 0; a benchmark that fails to run exits 1.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench"
OUTPUT = ROOT / "docs" / "benchmarks.md"
TIMEOUT = 300  # seconds per benchmark; the pages under two servers take the longest
MARKER = "BENCH-JSON "

BENCHMARKS = [
    (
        "bench_configurator.py",
        "Configurator and planner",
        "Pure functions: desired state and plan for 100 and 1,000 varied operators, best of 7.",
    ),
    (
        "bench_pages.py",
        "Page throughput",
        "Requests/s of the operator's and the provider's pages under werkzeug's threaded server "
        "and under gunicorn, as a ratio to a bare one-route Flask app served the same way in "
        "the same run.",
    ),
    (
        "bench_rollouts.py",
        "Rollouts for 1,000 operators",
        "Creating a rollout (plans, proposed times, notices stored, deliveries and wake-ups "
        "queued) and rendering the provider's board, against planning the same operators alone.",
    ),
    (
        "bench_workers.py",
        "Workers scale",
        "Deployments per minute of four `fedipanel worker` processes against one, on a real "
        "redis-server, every system simulated at a realistic pace (waits, not CPU).",
    ),
    (
        "bench_memory.py",
        "Memory",
        "Resident memory of the web process and a worker after 10,000 requests (pages and API) "
        "and 100 deployments, against their size at start.",
    ),
    (
        "bench_log_latency.py",
        "Live log latency",
        "Seconds from a line printed by nixops4 (deploying to four loopback pool VMs) to that "
        "line in the deployment page in headless chromium, and in the JSON API, against lines "
        "written straight to the database and polled the same way.",
    ),
    (
        "bench_machines.py",
        "Machines in parallel",
        "The machine step of a three-machine deployment on the fake Proxmox with realistic task "
        "times (clone 3 s, start 2 s, SSH 1 s, different per machine), against its slowest "
        "machine alone in the same run; one after another (FEDIPANEL_PARALLEL_MACHINES=1) too.",
    ),
]


def machine() -> dict[str, str]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return {
        "CPUs (nproc)": str(cores),
        "CPU model": cpu,
        "Python": f"{platform.python_version()} ({platform.python_implementation()})",
        "OS": f"{platform.system()} {platform.release()}",
        "load average at start (1, 5, 15 min)": load,
    }


def run(script: str) -> tuple[list[str], dict | None, str | None, float]:
    """Run one benchmark; return its Markdown lines, its goals, an error, and its wall time."""
    start = time.monotonic()
    try:
        done = subprocess.run(
            [sys.executable, str(BENCH / script)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return [], None, f"did not finish within {TIMEOUT} s", time.monotonic() - start
    seconds = time.monotonic() - start
    lines, result = [], None
    for line in done.stdout.splitlines():
        if line.startswith(MARKER):
            result = json.loads(line[len(MARKER) :])
        else:
            lines.append(line)
    error = None
    if done.returncode != 0 or result is None:
        tail = "\n".join(done.stderr.strip().splitlines()[-15:])
        error = f"exit code {done.returncode}, no results\n{tail}"
    return lines, result, error, seconds


def as_markdown(lines: list[str]) -> list[str]:
    """Keep tables as they are; other text lines become a bullet list."""
    out: list[str] = []
    for line in lines:
        text = line.strip()
        if not text:
            continue
        if text.startswith("|"):
            if out and not out[-1].startswith("|"):
                out.append("")
            out.append(text)
        else:
            if out and out[-1].startswith("|"):
                out.append("")
            out.append(f"- {text}")
    return out


def main() -> int:
    started = dt.datetime.now(dt.UTC)
    facts = machine()
    sections: list[str] = []
    summary: list[tuple[str, dict]] = []
    failures: list[str] = []
    for script, title, what in BENCHMARKS:
        print(f"running {script} ...", flush=True)
        lines, result, error, seconds = run(script)
        sections += [f"## {title}", "", f"`bench/{script}` ({seconds:.0f} s): {what}", ""]
        if error:
            failures.append(f"{script}: {error}")
            sections += ["**The benchmark failed to run:**", "", "```", error, "```", ""]
            continue
        sections += [*as_markdown(lines), ""]
        summary += [(title, goal) for goal in (result or {}).get("goals", [])]
        print("\n".join(lines), flush=True)

    misses = [goal for _title, goal in summary if not goal["met"]]
    total = (dt.datetime.now(dt.UTC) - started).total_seconds()
    doc = [
        "# Benchmarks",
        "",
        "Generated by `make bench` (`bench/run_all.py`); do not edit by hand. Figures that "
        "depend on the machine are ratios to a baseline measured in the same run, so they "
        "compare across machines; absolute numbers are for orientation only.",
        "",
        f"Run on {started:%Y-%m-%d %H:%M} UTC in {total:.0f} s.",
        "",
        "| machine | |",
        "|---|---|",
        *(f"| {key} | {value} |" for key, value in facts.items()),
        "",
        "## Goals",
        "",
        "| benchmark | measured | goal | meets |",
        "|---|---|---|---|",
        *(
            f"| {goal['what']} | {goal['figure']} | {goal['goal']} | "
            f"{'yes' if goal['met'] else '**NO**'} |"
            for _title, goal in summary
        ),
        "",
    ]
    if failures:
        doc += [f"**{len(failures)} benchmark(s) failed to run**: see below.", ""]
    doc += [
        *sections,
        "## How to run",
        "",
        "```",
        "make bench                           # all of them; rewrites this file",
        ".venv/bin/python bench/bench_pages.py  # one of them, results on stdout",
        ".venv/bin/python bench/bench_log_latency.py --embedded  # without redis-server",
        "```",
        "",
        "The whole run takes about five minutes on 2 cores and only talks to 127.0.0.1. The "
        "worker, memory and log latency benchmarks use a throwaway `redis-server` and real "
        "`flask fedipanel worker` processes; the log latency one deploys to the loopback pool "
        "VMs of tests/fakes/loopback_machines.py (sshd, as root) and watches the page in "
        "/usr/bin/chromium. Run it on an otherwise idle machine: the ratios absorb a steady "
        "load, not a burst.",
        "",
    ]
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    OUTPUT.write_text("\n".join(doc))
    print(f"\nwrote {OUTPUT.relative_to(ROOT)} in {total:.0f} s")

    for goal in misses:
        print(f"GOAL MISSED: {goal['what']}: {goal['figure']} (goal {goal['goal']})")
    for failure in failures:
        print(f"BENCHMARK FAILED: {failure}", file=sys.stderr)
    if not misses and not failures:
        print("every goal met")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
