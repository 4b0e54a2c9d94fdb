"""A real redis-server per module and real `flask fedipanel worker` processes per test.

The web side is the test's own app (tests/conftest.py `app`, `client`, `factory`) pointed at the
same database (`database_url`: SQLite or PostgreSQL) and Redis as the workers, which start
exactly as a provider starts them. Deployments go to the loopback pool VMs of
tests/plugins/machines.py (tests ask for the `machines` fixture); the workers get their settings.
"""

from __future__ import annotations

import secrets
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from redis import Redis
from redis.exceptions import RedisError

from tests.helpers import Api, free_port, require_program
from tests.integration.workers import FAKE_NIXOPS4, STALE_AFTER, Workers, wait_until
from tests.plugins.machines import LoopbackMachines


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Start a throwaway redis-server on a free loopback port; yield its URL."""
    program = require_program("redis-server")
    directory = tmp_path_factory.mktemp("redis")
    port = free_port()
    log = (directory / "redis.log").open("wb")
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
            str(directory),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"redis://127.0.0.1:{port}/0"
    try:

        def answers() -> bool:
            if process.poll() is not None:
                pytest.fail(f"redis-server exited: {(directory / 'redis.log').read_text()}")
            try:
                return bool(Redis.from_url(url).ping())
            except RedisError:
                return False

        wait_until(answers, 10, "redis-server to answer")
        yield url
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


@pytest.fixture
def redis(redis_server: str) -> Iterator[Redis]:
    """A connection to an empty Redis: no job of an earlier test may reach this test's workers."""
    connection = Redis.from_url(redis_server)
    connection.flushall()
    yield connection
    connection.close()


@pytest.fixture
def secret_key() -> str:
    return secrets.token_urlsafe(32)


@pytest.fixture
def job_timeout() -> int:
    """FEDIPANEL_JOB_TIMEOUT for the web app (it enqueues with it) and the workers."""
    return 60


@pytest.fixture
def stale_after() -> float:
    """FEDIPANEL_STALE_AFTER for the web app and the workers."""
    return STALE_AFTER


@pytest.fixture
def app_overrides(
    redis_server: str,
    redis: Redis,
    secret_key: str,
    job_timeout: int,
    stale_after: float,
    loopback_machines: LoopbackMachines,
) -> dict[str, Any]:
    return {
        **loopback_machines.settings(),
        "REDIS_URL": redis_server,
        "NIXOPS4": str(FAKE_NIXOPS4),
        "SECRET_KEY": secret_key,
        "STALE_AFTER": stale_after,
        "JOB_TIMEOUT": job_timeout,
    }


@pytest.fixture
def machines(app: Flask, operator_api: Api, loopback_machines: LoopbackMachines) -> None:
    """Deploy to loopback pool VMs (real nixops4 is refused against simulated machines)."""
    loopback_machines.install(app)


@pytest.fixture
def workers(
    app: Flask, tmp_path: Path, job_timeout: int, loopback_machines: LoopbackMachines
) -> Iterator[Workers]:
    started = Workers(app, tmp_path, job_timeout, loopback_machines.settings())
    yield started
    started.stop()
