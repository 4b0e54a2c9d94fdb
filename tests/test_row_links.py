"""Links of list rows, built once per list: the same URLs url_for builds for each row."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask, url_for
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fedipanel.web.converters import MAX_ID
from fedipanel.web.links import row_link
from tests.helpers import Auth, Factory

ROUTES = [
    ("deployments.show", "deployment_id", {}),
    ("operators.show", "operator_id", {}),
    ("storage.buckets", "operator_id", {}),
    ("deletions.confirm_delete", "operator_id", {}),
    ("deployments.show", "deployment_id", {"after": "7"}),
]


@pytest.mark.parametrize(("endpoint", "key", "values"), ROUTES)
@given(row_id=st.integers(min_value=0, max_value=MAX_ID))
# The app only builds URLs here: sharing it between examples changes nothing.
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_row_link_is_url_for(
    app: Flask, endpoint: str, key: str, values: dict[str, str], row_id: int
) -> None:
    with app.test_request_context():
        link = row_link(endpoint, key, **values)
        arguments: dict[str, Any] = {**values, key: row_id}
        assert link(row_id) == url_for(endpoint, **arguments)


def test_operators_page_links_each_row_to_its_own_operator(
    client: FlaskClient, factory: Factory, auth: Auth
) -> None:
    first = factory.operator("a@one.example", slug="one")
    second = factory.operator("b@two.example", slug="two")
    factory.provider("admin@provider.example")
    auth.login("admin@provider.example")
    page = client.get("/provider/operators").get_data(as_text=True)
    for operator_id in (first, second):
        assert f'href="/provider/operators/{operator_id}"' in page
        assert f"#quota-{operator_id}" in page
