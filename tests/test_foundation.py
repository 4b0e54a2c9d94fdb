"""The structure's promises: reads don't write, the reaper runs on a timer, settings precedence."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import event, select

from fedipanel import create_app
from fedipanel.db import db
from fedipanel.deployments.models import Deployment, Status
from fedipanel.keys.models import DeployKey
from fedipanel.provider_settings import store
from fedipanel.provider_settings.registry import section
from fedipanel.settings import effective
from fedipanel.settings.sources import Source
from fedipanel.timeutil import utcnow
from tests.helpers import Api, Auth, Factory, app_config, sample_config, wait_for_jobs

WRITES = ("INSERT", "UPDATE", "DELETE", "CREATE", "DROP", "ALTER")


@contextmanager
def writes_recorded(app: Flask) -> Iterator[list[str]]:
    """Collect every statement that would change the database while the block runs."""
    seen: list[str] = []

    def before(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip().upper().startswith(WRITES):
            seen.append(statement.split("\n")[0])

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", before)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", before)


def test_pages_and_api_reads_write_nothing(
    app: Flask, factory: Factory, auth: Auth, operator_api: Api
) -> None:
    operator_api.put("/configuration", sample_config())
    deployment_id = operator_api.post("/deployments").get_json()["id"]
    wait_for_jobs(app)
    auth.login("op@acme.example")
    reads = [
        "/dashboard",
        "/configuration",
        "/configuration/history",
        "/plan",
        "/deployments",
        f"/deployments/{deployment_id}",
        f"/deployments/{deployment_id}/log.txt",
    ]
    with writes_recorded(app) as seen:
        for path in reads:
            assert auth.client.get(path).status_code == 200, path
        # The API's token check writes `last_used_at` at most once a minute: done above.
        for path in ("/configuration", "/deployments", f"/deployments/{deployment_id}"):
            assert operator_api.get(path).status_code == 200, path
        assert operator_api.post("/plan").status_code == 200
    assert seen == []


def test_the_deploy_key_comes_with_the_operator(app: Flask, factory: Factory) -> None:
    operator_id = factory.operator(slug="acme")
    provider_id = factory.provider()
    with app.app_context():
        owners = set(db.session.scalars(select(DeployKey.operator_id)))
    assert owners == {operator_id}
    assert provider_id not in owners


def test_the_embedded_queue_reaps_dead_deployments_on_a_timer(app: Flask, factory: Factory) -> None:
    operator_id = factory.operator()
    with app.app_context():
        stale = utcnow() - timedelta(seconds=float(app.config["STALE_AFTER"]) + 5)
        row = Deployment(
            operator_id=operator_id, status=Status.RUNNING, started_at=stale, heartbeat_at=stale
        )
        db.session.add(row)
        db.session.commit()
        deployment_id = row.id
    deadline = time.monotonic() + 10
    status = Status.RUNNING
    while time.monotonic() < deadline and status == Status.RUNNING:
        time.sleep(0.2)
        with app.app_context():
            found = db.session.get(Deployment, deployment_id)
            assert found is not None
            status = Status(found.status)
    assert status == Status.FAILED


@pytest.fixture
def layered_app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Flask:
    """An app whose instance/config.py sets SMTP_PORT and whose environment sets SMTP_USER."""
    instance = tmp_path / "instance"
    instance.mkdir()
    (instance / "config.py").write_text('SMTP_PORT = "2525"\nSMTP_USER = "from-file"\n')
    monkeypatch.setenv("FEDIPANEL_SMTP_USER", "from-env")
    app = create_app(app_config(tmp_path))
    with app.app_context():
        db.create_all()
    return app


def test_settings_precedence_is_default_saved_file_environment(layered_app: Flask) -> None:
    mail = section("mail")
    assert mail is not None
    with layered_app.test_request_context():
        store.save(
            mail,
            {"SMTP_HOST": "saved.example", "SMTP_PORT": "25", "SMTP_USER": "saved"},
            fixed=effective.current().fixed,
        )
        effective.forget()
        settings = effective.current()
        found = {k: (v.text, v.source) for k, v in settings.provider.items() if "SMTP" in k}
    assert found["SMTP_HOST"] == ("saved.example", Source.SAVED)
    assert found["SMTP_PORT"] == ("2525", Source.INSTANCE_FILE)
    assert found["SMTP_USER"] == ("from-env", Source.ENVIRONMENT)
    assert found["SMTP_FROM_DOMAIN"] == (None, Source.DEFAULT)
    assert settings.mail is not None
    assert (settings.mail.host, settings.mail.port, settings.mail.user) == (
        "saved.example",
        2525,
        "from-env",
    )


def test_the_settings_page_says_where_each_value_comes_from(
    layered_app: Flask,
) -> None:
    factory = Factory(layered_app)
    factory.provider()
    client = layered_app.test_client()
    Auth(client).login("admin@provider.example")
    index = client.get("/provider/settings").get_data(as_text=True)
    assert "default → saved in the panel → instance/config.py → environment" in index
    assert '<tr id="mail" data-state="configured">' in index
    page = client.get("/provider/settings/mail").get_data(as_text=True)
    assert "default → saved in the panel → instance/config.py → environment" in page
    assert "Set in instance/config.py." in page
    assert "Set in the environment." in page
