"""The provider's operators list: 50 per page with page links, one query for the latest runs."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import insert, select

from fedipanel.accounts.models import User
from fedipanel.db import db
from fedipanel.deployments.models import Deployment
from tests.helpers import Auth, Factory, statements_run


def _operators(app: Flask, first: int, count: int, deployments: int = 2) -> None:
    """Record `count` operators (numbered from `first`), each with a few finished deployments."""
    with app.app_context():
        db.session.execute(
            insert(User),
            [
                {
                    "email": f"op{n:04d}@customer.example",
                    "role": "operator",
                    "slug": f"customer{n}",
                    "password_hash": "!",
                }
                for n in range(first, first + count)
            ],
        )
        ids = db.session.scalars(select(User.id).where(User.slug.like("customer%"))).all()
        db.session.execute(
            insert(Deployment),
            [
                {"operator_id": op, "status": "succeeded", "phase": "Deployed"}
                for op in ids
                for _ in range(deployments)
            ],
        )
        db.session.commit()


@pytest.fixture
def provider(factory: Factory, auth: Auth) -> None:
    factory.provider()
    auth.login("admin@provider.example")


@pytest.mark.usefixtures("provider")
def test_operators_list_shows_fifty_per_page_with_page_links(
    app: Flask, client: FlaskClient
) -> None:
    _operators(app, 0, 120)
    first = client.get("/provider/operators").get_data(as_text=True)
    assert "op0000@customer.example" in first
    assert "op0049@customer.example" in first
    assert "op0050@customer.example" not in first
    assert "Page 1 of 3 (120 operators)" in first
    assert 'href="/provider/operators?page=2"' in first
    assert 'rel="prev"' not in first

    last = client.get("/provider/operators?page=3").get_data(as_text=True)
    assert "op0100@customer.example" in last
    assert "op0119@customer.example" in last
    assert "op0099@customer.example" not in last
    assert 'aria-current="page">3<' in last
    assert 'rel="next"' not in last
    # Each row shows the operator's newest deployment.
    newest = re.findall(r'href="/deployments/(\d+)"', last)
    assert len(newest) == 20


@pytest.mark.usefixtures("provider")
@pytest.mark.parametrize(
    ("asked", "shown"), [("0", 1), ("-2", 1), ("abc", 1), ("9" * 30, 1), ("", 1), ("99", 3)]
)
def test_a_page_that_does_not_exist_shows_the_nearest(
    app: Flask, client: FlaskClient, asked: str, shown: int
) -> None:
    _operators(app, 0, 101)
    response = client.get("/provider/operators", query_string={"page": asked})
    assert response.status_code == 200
    assert f"Page {shown} of 3" in response.get_data(as_text=True)


@pytest.mark.usefixtures("provider")
# What building the page costs: the page cache would serve the second visit.
@pytest.mark.parametrize("app_overrides", [{"PAGE_CACHE_SECONDS": 0}])
def test_a_full_page_costs_as_many_queries_as_a_short_one(app: Flask, client: FlaskClient) -> None:
    _operators(app, 0, 3)
    client.get("/provider/operators")
    with statements_run(app) as short:
        client.get("/provider/operators")
    _operators(app, 3, 200, deployments=5)
    with statements_run(app) as full:
        page = client.get("/provider/operators?page=2").get_data(as_text=True)
    assert page.count('href="/deployments/') == 50
    assert len(full) == len(short)


def test_operators_list_is_for_the_provider_only(
    app: Flask, client: FlaskClient, factory: Factory, auth: Auth
) -> None:
    factory.operator("op@acme.example", slug="acme")
    auth.login("op@acme.example")
    assert client.get("/provider/operators?page=2").status_code == 403
