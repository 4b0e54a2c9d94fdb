"""Shared fixtures: a fresh app per test on a temporary SQLite file, clients and factories."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from fedipanel import create_app
from fedipanel.accounts import service as accounts
from fedipanel.accounts.models import User
from fedipanel.extensions import db

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = ROOT.parent / "shared" / "reference"
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
    path = shutil.which(name) or (
        f"/usr/sbin/{name}" if Path(f"/usr/sbin/{name}").exists() else None
    )
    require(path is not None, f"{name} is not installed")
    assert path is not None
    return path


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
    }
    config.update(overrides)
    return config


@pytest.fixture(autouse=True)
def _cheap_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Argon2id with minimal cost: the same algorithm, without seconds of hashing per test."""
    from argon2 import PasswordHasher

    monkeypatch.setattr(
        accounts, "_hasher", PasswordHasher(time_cost=1, memory_cost=256, parallelism=1)
    )


@pytest.fixture
def app_overrides() -> dict[str, Any]:
    """Settings a test module may override for its app."""
    return {}


@pytest.fixture
def app(
    tmp_path: Path, app_overrides: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> Iterator[Flask]:
    # nixops4 on the developer's PATH must not leak into tests that expect the simulator.
    monkeypatch.setenv(
        "PATH",
        os.pathsep.join(
            p for p in os.environ["PATH"].split(os.pathsep) if not Path(p, "nixops4").exists()
        ),
    )
    app = create_app(app_config(tmp_path, **app_overrides))
    with app.app_context():
        db.create_all()
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask) -> Any:
    return app.test_cli_runner()


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


@pytest.fixture
def factory(app: Flask) -> Factory:
    return Factory(app)


class Auth:
    """Logs the test client in and out through the real login form."""

    def __init__(self, client: FlaskClient) -> None:
        self.client = client

    def login(self, email: str, password: str = PASSWORD) -> Any:
        return self.client.post("/login", data={"email": email, "password": password})

    def logout(self) -> Any:
        return self.client.post("/logout")


@pytest.fixture
def auth(client: FlaskClient) -> Auth:
    return Auth(client)


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


@pytest.fixture
def operator_api(client: FlaskClient, factory: Factory) -> Api:
    """An API client for a fresh operator `op@acme.example` (slug `acme`)."""
    return Api(client, factory.token(factory.operator("op@acme.example", slug="acme")))


def wait_for_jobs(app: Flask) -> None:
    """Wait until the embedded queue has run everything queued."""
    app.extensions["fedipanel.queue"].join()
