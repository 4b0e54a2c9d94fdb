"""The command line: init with migrations, create-user, create-token, worker guard."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskCliRunner
from sqlalchemy import select

from fedipanel import create_app
from fedipanel.accounts import users
from fedipanel.db import db
from fedipanel.keys.models import DeployKey
from tests.helpers import PASSWORD, app_config


@pytest.fixture
def fresh_app(tmp_path: Path) -> Flask:
    """An app whose database does not exist yet (no create_all)."""
    return create_app(app_config(tmp_path))


def test_init_creates_the_database_and_prints_the_setup_code(fresh_app: Flask) -> None:
    result = fresh_app.test_cli_runner().invoke(args=["fedipanel", "init"])
    assert result.exit_code == 0, result.output
    code = (Path(fresh_app.instance_path) / "setup-code").read_text()
    assert code in result.output
    assert "/setup" in result.output


def test_init_twice_keeps_every_operators_data(fresh_app: Flask) -> None:
    runner = fresh_app.test_cli_runner()
    runner.invoke(args=["fedipanel", "init"])
    with fresh_app.app_context():
        users.create_user("op@acme.example", PASSWORD, "operator")
    result = runner.invoke(args=["fedipanel", "init"])
    assert result.exit_code == 0
    assert "set-up code" not in result.output or "No provider" in result.output
    with fresh_app.app_context():
        assert users.find_user("op@acme.example") is not None


def test_init_gives_older_operators_their_deploy_key(fresh_app: Flask) -> None:
    runner = fresh_app.test_cli_runner()
    runner.invoke(args=["fedipanel", "init"])
    with fresh_app.app_context():
        operator_id = users.create_user("op@acme.example", PASSWORD, "operator").id
        db.session.query(DeployKey).delete()  # as for operators created by earlier versions
        db.session.commit()
    result = runner.invoke(args=["fedipanel", "init"])
    assert "Created a deploy key for 1 operator" in result.output, result.output
    with fresh_app.app_context():
        assert db.session.scalar(select(DeployKey.operator_id)) == operator_id


def test_migrations_create_exactly_the_models_schema(fresh_app: Flask, tmp_path: Path) -> None:
    """A model change without a migration fails here."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    fresh_app.test_cli_runner().invoke(args=["fedipanel", "init"])
    with fresh_app.app_context(), db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"render_as_batch": True})
        assert compare_metadata(context, db.metadata) == []


def test_migrated_database_enforces_one_active_deployment(fresh_app: Flask) -> None:
    fresh_app.test_cli_runner().invoke(args=["fedipanel", "init"])
    path = fresh_app.config["DATABASE_URL"].removeprefix("sqlite:///")
    indexes = (
        sqlite3.connect(path)
        .execute("SELECT sql FROM sqlite_master WHERE name = 'uq_deployments_one_active'")
        .fetchone()
    )
    assert indexes is not None
    assert "WHERE status IN ('queued', 'running')" in indexes[0]


def test_create_user_reads_the_password_from_the_environment(
    runner: FlaskCliRunner, app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FEDIPANEL_PASSWORD", PASSWORD)
    result = runner.invoke(
        args=["fedipanel", "create-user", "--email", "boss@provider.example", "--role", "provider"]
    )
    assert result.exit_code == 0, result.output
    user_id = int(result.output.strip().splitlines()[-1])
    with app.app_context():
        user = users.find_user("boss@provider.example")
        assert user is not None
        assert user.id == user_id
        assert user.is_provider


def test_create_user_reads_the_password_from_standard_input(
    runner: FlaskCliRunner, app: Flask
) -> None:
    result = runner.invoke(
        args=["fedipanel", "create-user", "--email", "op@acme.example", "--slug", "acme"],
        input=PASSWORD + "\n",
    )
    assert result.exit_code == 0, result.output
    with app.app_context():
        user = users.find_user("op@acme.example")
        assert user is not None
        assert user.slug == "acme"
        assert users.check_password(user, PASSWORD)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--email", "not-an-email"], "email"),
        (["--email", "a@b.example", "--slug", "Bad Slug"], "slug"),
        (["--email", "a@b.example", "--role", "root"], "role"),
    ],
)
def test_create_user_rejects_bad_input_clearly(
    runner: FlaskCliRunner, args: list[str], message: str
) -> None:
    result = runner.invoke(args=["fedipanel", "create-user", *args], input=PASSWORD + "\n")
    assert result.exit_code != 0
    assert message in result.output
    assert "Traceback" not in result.output


def test_create_user_rejects_a_short_password(runner: FlaskCliRunner) -> None:
    result = runner.invoke(
        args=["fedipanel", "create-user", "--email", "a@b.example"], input="short\n"
    )
    assert result.exit_code != 0
    assert "at least 12 characters" in result.output


def test_create_token_prints_a_working_token_last(runner: FlaskCliRunner, app: Flask) -> None:
    with app.app_context():
        users.create_user("op@acme.example", PASSWORD, "operator")
    result = runner.invoke(args=["fedipanel", "create-token", "--email", "op@acme.example"])
    assert result.exit_code == 0
    token = result.output.strip().splitlines()[-1]
    response = app.test_client().get(
        "/api/v1/deployments", headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 200


def test_create_token_for_unknown_user_fails_clearly(runner: FlaskCliRunner) -> None:
    result = runner.invoke(args=["fedipanel", "create-token", "--email", "ghost@acme.example"])
    assert result.exit_code != 0
    assert "no account" in result.output


def test_worker_without_redis_explains_itself(runner: FlaskCliRunner) -> None:
    result = runner.invoke(args=["fedipanel", "worker"])
    assert result.exit_code != 0
    assert "FEDIPANEL_REDIS_URL" in result.output
