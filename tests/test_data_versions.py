"""Every transaction that writes a table raises that table's version, on both databases."""

from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy import select, text, update

from fedipanel.accounts.models import User
from fedipanel.data_versions import DataVersion, recording
from fedipanel.db import db
from tests.helpers import Factory

pytestmark = pytest.mark.both_databases


def versions(app: Flask) -> dict[str, int]:
    with app.app_context():
        rows = db.session.execute(select(DataVersion.name, DataVersion.version)).all()
        db.session.rollback()
        return dict(rows)


def test_writes_raise_the_versions_of_the_tables_they_touch(app: Flask, factory: Factory) -> None:
    before = versions(app)
    user_id = factory.operator("op@acme.example", slug="acme")  # an insert through the ORM
    created = versions(app)
    assert created["users"] > before.get("users", 0)

    with app.app_context():
        db.session.execute(update(User).where(User.id == user_id).values(language="nl"))
        db.session.commit()
    assert versions(app)["users"] == created["users"] + 1  # once per transaction

    with app.app_context():
        db.session.execute(text("UPDATE users SET time_zone = 'Europe/Amsterdam'"))
        db.session.execute(text("DELETE FROM deployment_log_lines"))
        db.session.commit()
    after = versions(app)
    assert after["users"] == created["users"] + 2
    assert after["deployment_log_lines"] == before.get("deployment_log_lines", 0) + 1
    assert after.get("deployments", 0) == before.get("deployments", 0)


def test_a_transaction_rolled_back_raises_nothing(app: Flask, factory: Factory) -> None:
    factory.operator("op@acme.example", slug="acme")
    before = versions(app)

    with app.app_context():
        db.session.execute(text("UPDATE users SET language = 'nl'"))
        db.session.rollback()
        db.session.execute(select(User.id)).all()
        db.session.commit()  # a read-only transaction

    assert versions(app) == before


def test_reads_are_recorded_by_table(app: Flask, factory: Factory) -> None:
    factory.operator("op@acme.example", slug="acme")
    with app.app_context(), recording() as tables:
        db.session.execute(select(User.email).where(User.slug == "acme")).all()
        db.session.execute(text("SELECT count(*) FROM deployments")).all()
    with app.app_context():
        db.session.execute(text("SELECT count(*) FROM deployment_log_lines")).all()  # not recording

    assert tables == {"users", "deployments"}
