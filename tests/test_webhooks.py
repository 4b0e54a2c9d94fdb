"""The operator's webhook: registered over the API or on the API tokens page, secret shown once."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from fedipanel.audit.models import AuditEntry
from fedipanel.db import db
from fedipanel.notifications.models import Notice, Webhook
from fedipanel.notifications.notices import notify
from tests.helpers import Api, Auth, Factory, wait_for_jobs

URL = "https://hooks.acme.example/fedipanel"


def _everything_stored(app: Flask) -> str:
    """Return every webhook row and audit entry as text (where a leaked secret would show)."""
    with app.app_context():
        rows = [[row.url, row.secret_encrypted] for row in db.session.scalars(select(Webhook))]
        audit = [[entry.action, entry.details] for entry in db.session.scalars(select(AuditEntry))]
    return json.dumps([rows, audit])


def test_put_answers_the_secret_once_and_get_never_shows_it(
    app: Flask, operator_api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    assert operator_api.get("/webhook").status_code == 404
    with caplog.at_level(logging.DEBUG):
        answer = operator_api.put("/webhook", {"url": URL})
        shown = operator_api.get("/webhook")
    assert answer.status_code == 200
    assert answer.headers["Cache-Control"] == "no-store"
    secret = answer.get_json()["secret"]
    assert secret.startswith("whsec_")
    assert answer.get_json()["url"] == URL
    assert shown.get_json() == {"url": URL}
    assert secret not in caplog.text
    stored = _everything_stored(app)
    assert secret not in stored
    assert secret.removeprefix("whsec_") not in stored
    assert "webhook.set" in stored

    again = operator_api.put("/webhook", {"url": URL + "/v2"}).get_json()
    assert again["secret"] != secret
    assert operator_api.get("/webhook").get_json()["url"].endswith("/v2")


def test_delete_removes_the_webhook(operator_api: Api) -> None:
    nothing = operator_api.client.delete("/api/v1/webhook", headers=operator_api.headers)
    assert nothing.status_code == 404
    operator_api.put("/webhook", {"url": URL})
    deleted = operator_api.client.delete("/api/v1/webhook", headers=operator_api.headers)
    assert deleted.status_code == 204
    assert operator_api.get("/webhook").status_code == 404
    again = operator_api.client.delete("/api/v1/webhook", headers=operator_api.headers)
    assert again.status_code == 404


@pytest.mark.parametrize(
    "url",
    [
        "http://hooks.acme.example/fedipanel",
        "http://127.0.0.1:8080/hook",
        "ftp://hooks.acme.example/",
        "https://",
        "hooks.acme.example/fedipanel",
        "https://user:pass@hooks.acme.example/",
        "https://hooks.acme.example/a b",
        "https://hooks.acme.example:99999/",
        "https://hooks.acme.example/" + "a" * 2000,
        "",
        42,
        None,
    ],
)
def test_bad_urls_are_422_at_url(operator_api: Api, url: Any) -> None:
    answer = operator_api.put("/webhook", {"url": url})
    assert answer.status_code == 422
    assert answer.get_json()["errors"][0]["loc"] == ["url"]
    assert operator_api.get("/webhook").status_code == 404


def test_http_to_loopback_only_when_allowed(app: Flask, operator_api: Api) -> None:
    assert operator_api.put("/webhook", {"url": "http://127.0.0.1:8080/h"}).status_code == 422
    app.config["WEBHOOK_ALLOW_HTTP"] = "1"
    assert operator_api.put("/webhook", {"url": "http://127.0.0.1:8080/h"}).status_code == 200
    assert operator_api.put("/webhook", {"url": "http://localhost/h"}).status_code == 200
    refused = operator_api.put("/webhook", {"url": "http://hooks.acme.example/h"})
    assert refused.status_code == 422


def test_unknown_fields_and_bodies_that_are_not_objects_are_refused(operator_api: Api) -> None:
    unknown = operator_api.put("/webhook", {"url": URL, "secret": "whsec_mine"})
    assert unknown.status_code == 422
    assert unknown.get_json()["errors"][0]["loc"] == ["secret"]
    assert operator_api.put("/webhook", [URL]).status_code == 400


def test_provider_tokens_have_no_webhook(client: FlaskClient, factory: Factory) -> None:
    api = Api(client, factory.token(factory.provider()))
    assert api.put("/webhook", {"url": URL}).status_code == 403


def test_operators_each_have_their_own_webhook(client: FlaskClient, factory: Factory) -> None:
    acme = Api(client, factory.token(factory.operator("op@acme.example", slug="acme")))
    other = Api(client, factory.token(factory.operator("op@other.example", slug="other")))
    acme.put("/webhook", {"url": URL})
    assert other.get("/webhook").status_code == 404
    assert other.client.delete("/api/v1/webhook", headers=other.headers).status_code == 404
    assert acme.get("/webhook").get_json() == {"url": URL}


def test_webhook_card_on_the_tokens_page(
    app: Flask, client: FlaskClient, factory: Factory, auth: Auth
) -> None:
    factory.operator("op@acme.example", slug="acme")
    auth.login("op@acme.example")
    page = client.get("/account/tokens").get_data(as_text=True)
    assert 'id="webhook"' in page
    assert "Set the webhook" in page

    refused = client.post("/account/webhook", data={"url": "http://hooks.acme.example/"})
    assert refused.status_code == 422
    assert "must be an https:// URL" in refused.get_data(as_text=True)

    created = client.post("/account/webhook", data={"url": URL})
    assert created.status_code == 200
    assert created.headers["Cache-Control"] == "no-store"
    text = created.get_data(as_text=True)
    secret = text.split('id="webhook-secret">')[1].split("<")[0]
    assert secret.startswith("whsec_")
    later = client.get("/account/tokens").get_data(as_text=True)
    assert secret not in later
    assert URL in later
    assert "Remove…" in later

    question = client.get("/account/webhook/remove")
    assert question.status_code == 200
    assert "Remove the webhook" in question.get_data(as_text=True)
    assert client.post("/account/webhook/remove").status_code == 422  # no confirm=yes
    removed = client.post("/account/webhook/remove", data={"confirm": "yes"})
    assert removed.status_code == 302
    assert "Set the webhook" in client.get("/account/tokens").get_data(as_text=True)
    assert secret not in _everything_stored(app)


def test_providers_tokens_page_has_no_webhook_card(
    client: FlaskClient, factory: Factory, auth: Auth
) -> None:
    factory.provider("admin@provider.example")
    auth.login("admin@provider.example")
    assert 'id="webhook"' not in client.get("/account/tokens").get_data(as_text=True)
    assert client.post("/account/webhook", data={"url": URL}).status_code == 403


def test_notices_and_the_webhook_go_with_the_account(
    app: Flask, client: FlaskClient, factory: Factory, operator_api: Api
) -> None:
    operator_api.put("/webhook", {"url": URL})
    with app.app_context():
        notify(1, kind="rollout.result", title="Done", text="Updated.", payload={})
    wait_for_jobs(app)
    provider = Api(client, factory.token(factory.provider()))
    assert (
        provider.client.delete("/api/v1/operators/1", headers=provider.headers).status_code == 202
    )
    wait_for_jobs(app)
    with app.app_context():
        assert db.session.scalars(select(Notice)).all() == []
        assert db.session.scalars(select(Webhook)).all() == []
