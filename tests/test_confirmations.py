"""Revoking a token, dropping a pre-configured bucket and removing a pool VM ask first."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from fedipanel.accounts.models import ApiToken
from fedipanel.db import db
from fedipanel.machines.models import PooledVm
from fedipanel.storage import records
from fedipanel.storage.models import AssignedBucket
from tests.helpers import Auth, Factory

HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMbI2pLgY7cpVVS7Hzx6T4nGtOazV2F1bLGdYmgS6d5Q"


def _question(client: FlaskClient, listing: str, link: str) -> str:
    """Follow the list page's link to the question and return it (a GET changes nothing)."""
    assert link in client.get(listing).get_data(as_text=True)
    response = client.get(link)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert f'action="{link}"' in page
    assert 'name="confirm" value="yes"' in page
    return page


def test_revoking_a_token_asks_first_and_an_unconfirmed_post_revokes_nothing(
    app: Flask, client: FlaskClient, auth: Auth, factory: Factory
) -> None:
    user_id = factory.operator("op@acme.example", slug="acme")
    token = factory.token(user_id)
    with app.app_context():
        token_id = db.session.scalar(select(ApiToken.id))
    auth.login("op@acme.example")
    link = f"/account/tokens/{token_id}/revoke"
    page = _question(client, "/account/tokens", link)
    assert "Scripts using it get 401" in page
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/deployments", headers=headers).status_code == 200

    unconfirmed = client.post(link)
    assert unconfirmed.status_code == 422
    assert "Nothing was done yet" in unconfirmed.get_data(as_text=True)
    assert client.get("/api/v1/deployments", headers=headers).status_code == 200

    assert client.post(link, data={"confirm": "yes"}).status_code == 302
    assert client.get("/api/v1/deployments", headers=headers).status_code == 401
    assert client.get(link).status_code == 302  # already revoked: nothing left to ask


def test_another_users_token_is_not_found(
    app: Flask, client: FlaskClient, auth: Auth, factory: Factory
) -> None:
    factory.token(factory.operator("other@shop.example", slug="shop"))
    with app.app_context():
        token_id = db.session.scalar(select(ApiToken.id))
    factory.operator("op@acme.example", slug="acme")
    auth.login("op@acme.example")
    assert client.get(f"/account/tokens/{token_id}/revoke").status_code == 404
    client.post(f"/account/tokens/{token_id}/revoke", data={"confirm": "yes"})
    with app.app_context():
        assert db.session.scalar(select(ApiToken.revoked_at)) is None


def test_dropping_a_preconfigured_bucket_asks_first(
    app: Flask, client: FlaskClient, auth: Auth, factory: Factory
) -> None:
    operator_id = factory.operator("op@acme.example", slug="acme")
    factory.provider()
    with app.app_context():
        records.assign_bucket(
            operator_id,
            "pixelfed",
            endpoint="https://s3.example",
            region="garage",
            bucket="legacy-media",
            access_key_id="GK0123456789abcdef01234567",
            secret="a" * 64,
            public_url=None,
        )
    auth.login("admin@provider.example")
    listing = f"/provider/operators/{operator_id}/buckets"
    link = f"{listing}/pixelfed/remove"
    page = _question(client, listing, link)
    assert "Stop using bucket legacy-media for pixelfed of op@acme.example?" in page
    assert client.get(f"{listing}/mastodon/remove").status_code == 404

    assert client.post(link).status_code == 422
    with app.app_context():
        assert db.session.scalars(select(AssignedBucket.bucket)).all() == ["legacy-media"]
    assert client.post(link, data={"confirm": "yes"}).status_code == 302
    with app.app_context():
        assert db.session.scalars(select(AssignedBucket)).all() == []


def test_removing_a_pool_vm_asks_first(
    app: Flask, client: FlaskClient, auth: Auth, factory: Factory
) -> None:
    factory.provider()
    auth.login("admin@provider.example")
    client.post("/provider/vm-pool", data={"address": "192.0.2.20", "host_key": HOST_KEY})
    with app.app_context():
        entry_id = db.session.scalar(select(PooledVm.id))
    link = f"/provider/vm-pool/{entry_id}/delete"
    page = _question(client, "/provider/vm-pool", link)
    assert "Remove 192.0.2.20 from the pool?" in page

    assert client.post(link).status_code == 422
    with app.app_context():
        assert db.session.scalars(select(PooledVm.address)).all() == ["192.0.2.20"]
    assert client.post(link, data={"confirm": "maybe"}).status_code == 422
    assert client.post(link, data={"confirm": "yes"}).status_code == 302
    with app.app_context():
        assert db.session.scalars(select(PooledVm)).all() == []
    assert client.get(link).status_code == 404
