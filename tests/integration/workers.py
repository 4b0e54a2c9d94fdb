"""Real `flask fedipanel worker` processes and what the integration tests ask of them."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from redis import Redis

from tests.helpers import FAKES, ROOT, Api

FAKE_NIXOPS4 = FAKES / "nixops4"
FLASK = ROOT / ".venv" / "bin" / "flask"
STALE_AFTER = 3
STOP_GRACE = 5.0


def wait_until(condition: Callable[[], Any], timeout: float, what: str, step: float = 0.05) -> Any:
    """Poll `condition` until it returns something truthy; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() >= deadline:
            pytest.fail(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(step)


def process_state(pid: int) -> str | None:
    """Return the state letter of `pid` from /proc (R, S, Z, ...), or None if it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    # The command name is in parentheses and may hold spaces: split after the last ')'.
    return stat.rsplit(")", 1)[1].split()[0]


def parent_of(pid: int) -> int | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    return int(stat.rsplit(")", 1)[1].split()[1])


def is_alive(pid: int) -> bool:
    """True while `pid` runs; a zombie nobody reaps (PID 1 in a container may not) is dead."""
    return process_state(pid) not in (None, "Z")


def children_of(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and parent_of(int(entry.name)) == pid:
            found.append(int(entry.name))
    return found


def kill_quietly(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.kill(pid, signal.SIGKILL)


class Workers:
    """Starts `flask --app wsgi fedipanel worker` processes as a provider would, and stops them."""

    def __init__(
        self, app: Flask, tmp_path: Path, job_timeout: int, settings: dict[str, Any] | None = None
    ) -> None:
        self.app = app
        self.tmp_path = tmp_path
        self.job_timeout = job_timeout
        # More FEDIPANEL_* settings (without the prefix): the machines' (see `machines` fixture).
        self.settings = {k: v for k, v in (settings or {}).items() if k != "NIXOPS4"}
        self.processes: list[subprocess.Popen[bytes]] = []
        self.logs: list[Path] = []
        self.pidfiles: list[Path] = []

    def environment(self, **fake: Any) -> dict[str, str]:
        environment = {
            name: value
            for name, value in os.environ.items()
            if not name.startswith(("FEDIPANEL_", "FAKE_NIXOPS4_"))
        }
        environment.update(
            {f"FEDIPANEL_{name}": str(value) for name, value in self.settings.items()}
        )
        environment.update(
            {
                "FEDIPANEL_REDIS_URL": self.app.config["REDIS_URL"],
                "FEDIPANEL_DATABASE_URL": self.app.config["DATABASE_URL"],
                "FEDIPANEL_INSTANCE_PATH": str(self.tmp_path / "worker-instance"),
                "FEDIPANEL_SECRET_KEY": self.app.config["SECRET_KEY"],
                "FEDIPANEL_NIXOPS4": str(fake.pop("nixops4", FAKE_NIXOPS4)),
                "FEDIPANEL_SIMULATOR_STEP_DELAY": "0",
                "FEDIPANEL_HEARTBEAT_INTERVAL": "0.5",
                "FEDIPANEL_STALE_AFTER": str(self.app.config["STALE_AFTER"]),
                "FEDIPANEL_REAP_INTERVAL": "0.5",
                "FEDIPANEL_JOB_TIMEOUT": str(self.job_timeout),
                "PYTHONUNBUFFERED": "1",
            }
        )
        for name, value in fake.items():
            environment[f"FAKE_NIXOPS4_{name.upper()}"] = str(value)
        return environment

    def start(self, **fake: Any) -> subprocess.Popen[bytes]:
        """Start one worker; `fake` sets FAKE_NIXOPS4_* (mode="slow", delay=0.3, ...)."""
        if "pidfile" in fake:
            self.pidfiles.append(Path(fake["pidfile"]))
        number = len(self.processes) + 1
        log_path = self.tmp_path / f"worker-{number}.log"
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                [str(FLASK), "--app", "wsgi", "fedipanel", "worker"],
                cwd=ROOT,
                env=self.environment(**fake),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self.processes.append(process)
        self.logs.append(log_path)
        return process

    def wait_registered(self, redis: Redis, count: int, timeout: float = 20) -> None:
        """Wait until `count` workers listen on the queue (they take a moment to import)."""
        from rq import Worker

        def registered() -> bool:
            for process, log in zip(self.processes, self.logs, strict=True):
                if process.poll() is not None:
                    pytest.fail(f"worker exited with {process.returncode}:\n{log.read_text()}")
            return len(Worker.all(connection=redis)) >= count

        wait_until(registered, timeout, f"{count} worker(s) to register", step=0.1)

    def output(self) -> str:
        return "\n".join(log.read_text(errors="replace") for log in self.logs)

    def stop(self) -> None:
        """Warm shutdown, then cold (which kills a busy horse), then SIGKILL what is left."""
        running = [p for p in self.processes if p.poll() is None]
        for process in running:
            horses = children_of(process.pid)
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(STOP_GRACE if not horses else 1.5)
                continue
            except subprocess.TimeoutExpired:
                pass
            process.send_signal(signal.SIGTERM)  # the second one is a cold shutdown
            try:
                process.wait(STOP_GRACE)
            except subprocess.TimeoutExpired:
                for horse in children_of(process.pid):
                    kill_quietly(horse)
                process.kill()
                process.wait()
        for pidfile in self.pidfiles:
            with contextlib.suppress(FileNotFoundError, ValueError):
                kill_quietly(int(pidfile.read_text()))


def deployment(api: Api, deployment_id: int) -> dict[str, Any]:
    response = api.get(f"/deployments/{deployment_id}")
    assert response.status_code == 200, response.get_json()
    return dict(response.get_json())


def wait_for_status(
    api: Api, deployment_id: int, statuses: set[str], timeout: float
) -> dict[str, Any]:
    """Poll the API until the deployment reaches one of `statuses`; return its last state."""
    last: dict[str, Any] = {}

    def reached() -> bool:
        last.update(deployment(api, deployment_id))
        return last["status"] in statuses

    try:
        wait_until(reached, timeout, f"deployment {deployment_id} to become {statuses}", step=0.1)
    except pytest.fail.Exception:
        pytest.fail(f"deployment {deployment_id} never became {statuses}; last state: {last}")
    return last
