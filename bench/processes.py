"""The programs the worker benchmarks start: a throwaway redis-server and `fedipanel worker`s."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from benchlib import ROOT, free_port

FLASK = ROOT / ".venv" / "bin" / "flask"
NO_PERSISTENCE = ("--save", "", "--appendonly", "no", "--dir")


def wait_for(condition: Callable[[], Any], timeout: float, what: str, step: float = 0.1) -> Any:
    """Poll `condition` until it returns something truthy; raise after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(step)
    raise RuntimeError(f"timed out after {timeout:g} s waiting for {what}")


def redis_server_program() -> str | None:
    """Return the redis-server to start, or None where it is not installed."""
    return shutil.which("redis-server") or (
        "/usr/bin/redis-server" if Path("/usr/bin/redis-server").exists() else None
    )


def start_redis(program: str, tmp: Path) -> tuple[subprocess.Popen[bytes], str]:
    """Start redis-server on a free loopback port without persistence; return it and its URL."""
    from redis import Redis

    port = free_port()
    with (tmp / "redis.log").open("wb") as log:
        process = subprocess.Popen(
            [program, "--port", str(port), "--bind", "127.0.0.1", *NO_PERSISTENCE, str(tmp)],
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


def start_workers(
    env: Mapping[str, str], url: str, tmp: Path, count: int = 1, first: int = 1
) -> list[subprocess.Popen[bytes]]:
    """Start `count` `flask fedipanel worker` processes and wait until all have registered."""
    from redis import Redis
    from rq import Worker

    processes = []
    for number in range(first, first + count):
        with (tmp / f"worker-{number}.log").open("wb") as log:
            processes.append(
                subprocess.Popen(
                    [str(FLASK), "--app", "wsgi", "fedipanel", "worker"],
                    cwd=ROOT,
                    env=dict(env),
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            )
    connection = Redis.from_url(url)
    before = len(Worker.all(connection=connection))

    def registered() -> bool:
        for number, process in enumerate(processes, start=first):
            if process.poll() is not None:
                log = (tmp / f"worker-{number}.log").read_text()
                raise RuntimeError(f"worker {number} exited: {log}")
        return len(Worker.all(connection=connection)) >= before + count

    try:
        wait_for(registered, 60, f"{count} RQ worker(s) to register")
    finally:
        connection.close()
    return processes


def stop_all(processes: list[subprocess.Popen[Any]], grace: float = 10.0) -> None:
    """Terminate these processes together (workers shut down in parallel), then kill leftovers."""
    running = [p for p in processes if p.poll() is None]
    for process in running:
        process.terminate()
    deadline = time.monotonic() + grace
    for process in running:
        try:
            process.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def rss_mb(pid: int) -> float:
    """Return the resident set size of `pid` in MB (VmRSS in /proc/<pid>/status)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for process {pid}")
