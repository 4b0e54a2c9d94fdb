"""Forms report every error at once, each at its field, and keep what was typed."""

from __future__ import annotations

import re

from flask.testing import FlaskClient

from tests.helpers import Auth, Factory


def _provider(client: FlaskClient, factory: Factory) -> None:
    factory.provider()
    Auth(client).login("admin@provider.example")


def test_new_operator_form_shows_every_error_at_once(client: FlaskClient, factory: Factory) -> None:
    _provider(client, factory)
    answer = client.post(
        "/provider/operators", data={"email": "not-an-email", "slug": "-Bad-", "password": "short"}
    )
    assert answer.status_code == 400
    page = answer.get_data(as_text=True)
    assert len(re.findall(r'class="field-error"', page)) == 3
    assert "email address" in page
    assert "at least 12 characters" in page
    assert 'value="-Bad-"' in page
    assert 'value="not-an-email"' in page


def test_a_quota_error_keeps_what_was_typed_and_marks_every_bad_field(
    client: FlaskClient, factory: Factory
) -> None:
    _provider(client, factory)
    operator_id = factory.operator("op@acme.example", slug="acme")
    answer = client.post(
        f"/provider/quotas/{operator_id}",
        data={"vms": "7", "cores": "99999999999999999999999", "memory_mib": "x", "disk_gib": "40"},
    )
    assert answer.status_code == 422
    page = answer.get_data(as_text=True)
    assert len(re.findall(r'<p class="field-error" id="error-\d+-\w+">', page)) == 2
    assert len(re.findall(r'aria-invalid="true" aria-describedby="error-\d+-\w+"', page)) == 2
    for typed in ("7", "99999999999999999999999", "x", "40"):
        assert f'value="{typed}"' in page


def test_a_pool_address_too_long_for_its_column_is_refused_at_the_field(
    client: FlaskClient, factory: Factory
) -> None:
    _provider(client, factory)
    address = "fe80::1%" + "a" * 300  # a valid IPv6 address with an endless scope id
    answer = client.post(
        "/provider/vm-pool",
        data={"address": address, "host_key": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA"},
    )
    assert answer.status_code in (400, 422)
    assert "at most 253 characters" in answer.get_data(as_text=True)
