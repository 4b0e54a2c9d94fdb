"""Helpers every test may import: paths, requirements, ports, sample data and clients."""

from __future__ import annotations

import os
import shutil
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event

from fedipanel.accounts import users as accounts
from fedipanel.accounts.models import User
from fedipanel.db import db

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = ROOT / "tests" / "reference"
FAKES = Path(__file__).resolve().parent / "fakes"
PASSWORD = "correct horse battery"
IN_CI = os.environ.get("CI") == "true"


def require(condition: bool, reason: str) -> None:
    """Skip when a component is missing, except in CI where that is a failure."""
    if not condition:
        if IN_CI:
            pytest.fail(f"CI must have this: {reason}")
        pytest.skip(reason)


def require_program(name: str) -> str:
    """Return the path of a program the test needs (see `require`)."""
    path = shutil.which(name) or next(
        (f"{d}/{name}" for d in ("/usr/sbin", "/usr/local/sbin") if Path(d, name).exists()), None
    )
    require(path is not None, f"{name} is not installed")
    assert path is not None
    return path


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def without_nixops4_on_path() -> str:
    """Return PATH without directories holding a nixops4: tests expect the simulator."""
    return os.pathsep.join(
        p for p in os.environ["PATH"].split(os.pathsep) if not Path(p, "nixops4").exists()
    )


def sample_config(**overrides: Any) -> dict[str, Any]:
    """Return a valid configuration with Mastodon and PeerTube enabled."""
    config: dict[str, Any] = {
        "domain": "acme.example",
        "admin": {"username": "alice", "email": "alice@acme.example"},
        "services": {
            "mastodon": {"enable": True},
            "pixelfed": {"enable": False},
            "peertube": {"enable": True},
        },
    }
    config.update(overrides)
    return config


def app_config(tmp_path: Path, **overrides: Any) -> dict[str, Any]:
    """Return the settings a test app runs with."""
    config = {
        "TESTING": True,
        "INSTANCE_PATH": str(tmp_path / "instance"),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'fedipanel.sqlite3'}",
        "SECRET_KEY": "test-secret-key",
        "WTF_CSRF_ENABLED": False,
        "SIMULATOR_STEP_DELAY": 0,
        "HEARTBEAT_INTERVAL": 0.2,
        "NIXOPS4": None,
        "REDIS_URL": None,
        "LOGIN_MAX_FAILURES": 5,
        "REAP_INTERVAL": 0,
        # An unreachable Garage is tried again a few times: quickly in tests.
        "GARAGE_BACKOFF": 0.01,
    }
    config.update(overrides)
    return config


class Factory:
    """Creates users, tokens and configurations directly through the services."""

    def __init__(self, app: Flask) -> None:
        self.app = app

    def user(self, email: str, role: str = "operator", slug: str | None = None) -> int:
        with self.app.app_context():
            return accounts.create_user(email, PASSWORD, role, slug).id

    def operator(self, email: str = "op@acme.example", slug: str | None = None) -> int:
        return self.user(email, "operator", slug)

    def provider(self, email: str = "admin@provider.example") -> int:
        return self.user(email, "provider")

    def token(self, user_id: int) -> str:
        with self.app.app_context():
            user = db.session.get(User, user_id)
            assert user is not None
            return accounts.create_token(user, "test")


class Auth:
    """Logs the test client in and out through the real login form."""

    def __init__(self, client: FlaskClient) -> None:
        self.client = client

    def login(self, email: str, password: str = PASSWORD) -> Any:
        return self.client.post("/login", data={"email": email, "password": password})

    def logout(self) -> Any:
        return self.client.post("/logout")


class Api:
    """Calls the JSON API with a bearer token."""

    def __init__(self, client: FlaskClient, token: str) -> None:
        self.client = client
        self.headers = {"Authorization": f"Bearer {token}"}

    def get(self, path: str) -> Any:
        return self.client.get(f"/api/v1{path}", headers=self.headers)

    def put(self, path: str, body: Any) -> Any:
        return self.client.put(f"/api/v1{path}", json=body, headers=self.headers)

    def post(self, path: str, body: Any = None) -> Any:
        return self.client.post(
            f"/api/v1{path}", json={} if body is None else body, headers=self.headers
        )


def wait_for_jobs(app: Flask) -> None:
    """Wait until the embedded queue has run everything queued."""
    app.extensions["fedipanel.queue"].join()


@contextmanager
def statements_run(app: Flask) -> Iterator[list[str]]:
    """Collect every SQL statement the app runs through SQLAlchemy inside the block."""
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)
