"""Fixtures: a fresh app per test on its own database (SQLite file by default), clients, factories.

Fixtures shared by several test modules live in `tests/plugins/` and are loaded below; plain
helpers (paths, sample data, API client) are imported from `tests.helpers`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine

from fedipanel import create_app
from fedipanel.accounts import users as accounts
from fedipanel.db import db
from fedipanel.jobqueue import EmbeddedQueue
from fedipanel.runtime import MODELS
from tests.helpers import ROOT, Api, Auth, Factory, app_config, without_nixops4_on_path

pytest_plugins = [
    "tests.plugins.garage",
    "tests.plugins.postgres",
    "tests.plugins.proxmox",
    "tests.plugins.smtp",
    "tests.plugins.bind",
    "tests.plugins.ldap",
    "tests.plugins.smtp_relay",
    "tests.plugins.webhooks",
    "tests.plugins.machines",
]
# Every test in these folders starts programs of its own (redis-server, workers, chromium).
EXTERNAL_FOLDERS = ("integration", "browser")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark the tests that start programs of their own, so `make test-fast` can leave them out."""
    for item in items:
        if any(part in EXTERNAL_FOLDERS for part in item.path.relative_to(ROOT / "tests").parts):
            item.add_marker(pytest.mark.external)


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep the developer's FEDIPANEL_* variables and nixops4 out of the test apps."""
    for name in list(os.environ):
        if name.startswith("FEDIPANEL_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("PATH", without_nixops4_on_path())


@pytest.fixture(autouse=True)
def _stop_queue_timers(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Stop the reaper timers of every app a test created, whichever way it created it."""
    timers: list[EmbeddedQueue] = []
    every = EmbeddedQueue.every

    def recorded(queue: EmbeddedQueue, seconds: float, task: Callable[[], object]) -> None:
        timers.append(queue)
        every(queue, seconds, task)

    monkeypatch.setattr(EmbeddedQueue, "every", recorded)
    yield
    for queue in timers:
        queue.close()


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
def app(tmp_path: Path, database_url: str, app_overrides: dict[str, Any]) -> Iterator[Flask]:
    """The panel on an empty database (`database_url`) with the models' tables created."""
    # Before the app starts its reaper: a first tick on a database without tables logs a
    # traceback, and Python 3.11 formats tracebacks with ast.parse, which races create_app's
    # own (werkzeug compiles its routes): "SystemError: AST constructor recursion depth".
    engine = create_engine(database_url)
    db.metadata.create_all(engine, tables=[model.__table__ for model in MODELS])
    engine.dispose()
    app = create_app(app_config(tmp_path, **{"DATABASE_URL": database_url, **app_overrides}))
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


@pytest.fixture
def factory(app: Flask) -> Factory:
    return Factory(app)


@pytest.fixture
def auth(client: FlaskClient) -> Auth:
    return Auth(client)


@pytest.fixture
def operator_api(client: FlaskClient, factory: Factory) -> Api:
    """An API client for a fresh operator `op@acme.example` (slug `acme`)."""
    return Api(client, factory.token(factory.operator("op@acme.example", slug="acme")))
