"""The command line: init with migrations, create-user, create-token, worker guard."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskCliRunner
from flask_migrate import upgrade
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError

from fedipanel import create_app
from fedipanel.accounts import users
from fedipanel.db import db
from fedipanel.deployments.models import Deployment, Status
from fedipanel.keys.models import DeployKey
from fedipanel.resources.models import RecordedResource
from tests.helpers import PASSWORD, app_config


@pytest.fixture
def fresh_app(tmp_path: Path, database_url: str) -> Iterator[Flask]:
    """An app whose database is empty (no create_all): only the migrations create tables."""
    app = create_app(app_config(tmp_path, DATABASE_URL=database_url))
    yield app
    with app.app_context():
        db.engine.dispose()


def init(app: Flask) -> str:
    """Run `fedipanel init`; return its output."""
    result = app.test_cli_runner().invoke(args=["fedipanel", "init"])
    assert result.exit_code == 0, result.output
    return str(result.output)


@pytest.mark.both_databases
def test_init_creates_the_database_and_prints_the_setup_code(fresh_app: Flask) -> None:
    output = init(fresh_app)
    code = (Path(fresh_app.instance_path) / "setup-code").read_text()
    assert code in output
    assert "/setup" in output


def test_the_setup_code_file_is_removed_once_a_provider_exists(
    fresh_app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    init(fresh_app)
    code = Path(fresh_app.instance_path) / "setup-code"
    assert code.exists()
    monkeypatch.setenv("FEDIPANEL_PASSWORD", PASSWORD)
    runner = fresh_app.test_cli_runner()
    created = runner.invoke(
        args=["fedipanel", "create-user", "--role", "provider", "--email", "a@provider.example"]
    )
    assert created.exit_code == 0, created.output
    assert not code.exists()


@pytest.mark.both_databases
def test_init_twice_keeps_every_operators_data(fresh_app: Flask) -> None:
    init(fresh_app)
    with fresh_app.app_context():
        users.create_user("op@acme.example", PASSWORD, "operator")
    output = init(fresh_app)
    assert "set-up code" not in output or "No provider" in output
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


@pytest.mark.both_databases
def test_migrations_create_exactly_the_models_schema(fresh_app: Flask) -> None:
    """A model change without a migration fails here."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    init(fresh_app)
    with fresh_app.app_context(), db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"render_as_batch": True})
        assert compare_metadata(context, db.metadata) == []


@pytest.mark.both_databases
def test_migrated_database_refuses_a_second_active_deployment(fresh_app: Flask) -> None:
    init(fresh_app)
    with fresh_app.app_context():
        operator = users.create_user("op@acme.example", PASSWORD, "operator")
        other = users.create_user("op@beta.example", PASSWORD, "operator")
        db.session.add(Deployment(operator_id=operator.id, status=Status.QUEUED))
        db.session.commit()
        db.session.add(Deployment(operator_id=operator.id, status=Status.RUNNING))
        with pytest.raises(IntegrityError):
            db.session.commit()
        db.session.rollback()
        # Finished deployments and other operators' deployments are not held back.
        db.session.add(Deployment(operator_id=operator.id, status=Status.SUCCEEDED))
        db.session.add(Deployment(operator_id=other.id, status=Status.QUEUED))
        db.session.commit()


@pytest.mark.both_databases
def test_upgrade_keeps_recorded_resources_and_then_takes_longer_names(fresh_app: Flask) -> None:
    """Migration 0008 widens resources.name (SQLite: by copying the table) and loses nothing."""
    with fresh_app.app_context():
        upgrade(revision="0005")
        # The schema of 0005, written as it was: today's models have more columns.
        db.session.execute(
            text(
                "INSERT INTO users (email, role, slug, password_hash, created_at) "
                "VALUES ('op@acme.example', 'operator', 'acme', 'x', CURRENT_TIMESTAMP)"
            )
        )
        operator_id = db.session.execute(text("SELECT id FROM users")).scalar_one()
        db.session.execute(
            text(
                "INSERT INTO resources (operator_id, kind, name, spec, facts, simulated, "
                "updated_at) VALUES (:operator, 'dns_record', 'mastodon.acme.example', '{}', "
                '\'{"address": "192.0.2.10"}\', false, CURRENT_TIMESTAMP)'
            ),
            {"operator": operator_id},
        )
        db.session.commit()
    init(fresh_app)
    with fresh_app.app_context():
        kept = db.session.scalars(select(RecordedResource)).one()
        assert (kept.name, kept.facts) == ("mastodon.acme.example", {"address": "192.0.2.10"})
        long_name = f"{'m' * 63}.{'d' * 191}.example"
        db.session.add(
            RecordedResource(operator_id=operator_id, kind="dns_record", name=long_name, spec={})
        )
        db.session.commit()
        db.session.expire_all()
        names = db.session.scalars(select(RecordedResource.name).order_by(RecordedResource.id))
        assert list(names) == ["mastodon.acme.example", long_name]


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
