"""Long lists cost the same number of queries as short ones: no query per row."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import insert

from fedipanel.accounts.models import User
from fedipanel.db import db
from fedipanel.deployments.models import Deployment
from tests.helpers import Auth, Factory, statements_run


@pytest.fixture
def app_overrides() -> dict[str, object]:
    """What building a page costs: the page cache would serve the second visit."""
    return {"PAGE_CACHE_SECONDS": 0}


def _add_deployments(app: Flask, operator_id: int, count: int) -> None:
    rows = [{"operator_id": operator_id, "status": "succeeded", "phase": "Deployed"}] * count
    with app.app_context():
        db.session.execute(insert(Deployment), rows)
        db.session.commit()


def _queries(app: Flask, client: FlaskClient, path: str) -> int:
    client.get(path)  # a first visit may set up the session's CSRF token
    with statements_run(app) as seen:
        assert client.get(path).status_code == 200
    return len(seen)


def test_deployments_list_and_dashboard_cost_the_same_with_one_or_fifty_rows(
    app: Flask, client: FlaskClient, factory: Factory, auth: Auth
) -> None:
    operator_id = factory.operator("op@acme.example", slug="acme")
    auth.login("op@acme.example")
    _add_deployments(app, operator_id, 1)
    short = {path: _queries(app, client, path) for path in ("/deployments", "/dashboard")}
    _add_deployments(app, operator_id, 60)
    for path, count in short.items():
        assert _queries(app, client, path) == count, path
        assert count <= 12


def test_operators_page_costs_the_same_with_two_or_fifty_operators(
    app: Flask, client: FlaskClient, factory: Factory, auth: Auth
) -> None:
    factory.provider("admin@provider.example")
    first = factory.operator("a@one.example", slug="one")
    _add_deployments(app, first, 3)
    auth.login("admin@provider.example")
    short = _queries(app, client, "/provider/operators")
    with app.app_context():
        db.session.execute(
            insert(User),
            [
                {"email": f"op{n}@many.example", "role": "operator", "password_hash": "!"}
                for n in range(60)
            ],
        )
        db.session.commit()
        ids = [user.id for user in db.session.query(User).filter(User.email.like("%many%"))]
    for operator_id in ids:
        _add_deployments(app, operator_id, 2)
    assert _queries(app, client, "/provider/operators") == short
