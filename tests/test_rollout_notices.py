"""A rollout's notices reach operators by email and signed webhook, and the provider by email."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from standardwebhooks import Webhook

from tests.fakes.webhook_receiver import WebhookReceiver
from tests.helpers import Api, Factory, wait_for_jobs
from tests.plugins.smtp_relay import Relay
from tests.test_rollouts import deployed_operator


@pytest.fixture
def app_overrides() -> dict[str, Any]:
    return {"NOTICE_BACKOFF": 0, "WEBHOOK_ALLOW_HTTP": "1"}


def test_operators_get_the_notice_and_the_result_by_mail_and_webhook(
    app: Flask,
    client: FlaskClient,
    factory: Factory,
    relay_plain: Relay,
    webhook_receiver: WebhookReceiver,
) -> None:
    app.config.update(relay_plain.settings())
    acme = deployed_operator(app, client, factory, "acme")
    secret = acme.put("/webhook", {"url": webhook_receiver.url}).get_json()["secret"]
    provider = Api(client, factory.token(factory.provider()))
    deadline = (datetime.now(UTC) + timedelta(days=30)).isoformat()
    created = provider.post(
        "/rollouts",
        {
            "title": "NixOS 25.11",
            "reason": "Security updates for every service",
            "deadline": deadline,
            "change": {"kind": "redeploy"},
        },
    )
    assert created.status_code == 201, created.get_json()
    rollout_id = created.get_json()["id"]
    wait_for_jobs(app)

    [mail] = [m for m in relay_plain.received if m.recipients == ["op@acme.example"]]
    assert mail.message["Subject"] == "Planned update: NixOS 25.11"
    text = mail.message.get_payload(decode=True).decode()
    assert "Security updates for every service" in text
    assert "(Europe/Amsterdam)" in text  # the proposed time, in the operator's zone
    [delivery] = webhook_receiver.deliveries
    body = Webhook(secret).verify(delivery.body, delivery.headers)
    assert body["type"] == "rollout.scheduled"
    assert body["data"]["payload"]["rollout"] == rollout_id
    proposed = acme.get(f"/rollouts/{rollout_id}").get_json()["scheduledFor"]
    assert body["data"]["payload"]["scheduledFor"] == proposed

    assert acme.post(f"/rollouts/{rollout_id}/schedule", {"now": True}).status_code == 200
    wait_for_jobs(app)
    result = [m for m in relay_plain.received if m.recipients == ["op@acme.example"]][-1]
    assert result.message["Subject"] == "Update succeeded: NixOS 25.11"
    last = Webhook(secret).verify(
        webhook_receiver.deliveries[-1].body, webhook_receiver.deliveries[-1].headers
    )
    assert last["type"] == "rollout.result"
    assert last["data"]["payload"]["state"] == "succeeded"


def test_a_paused_rollout_is_mailed_to_the_provider(
    app: Flask, client: FlaskClient, factory: Factory, relay_plain: Relay
) -> None:
    app.config.update(relay_plain.settings())
    acme = deployed_operator(app, client, factory, "acme")
    provider = Api(client, factory.token(factory.provider()))
    deadline = (datetime.now(UTC) + timedelta(days=30)).isoformat()
    rollout_id = provider.post(
        "/rollouts",
        {"title": "Fix", "reason": "CVE", "deadline": deadline, "change": {"kind": "redeploy"}},
    ).get_json()["id"]
    app.config["SIMULATE"] = False  # the update fails: simulators are forbidden now
    acme.post(f"/rollouts/{rollout_id}/schedule", {"now": True})
    wait_for_jobs(app)
    app.config["SIMULATE"] = True
    assert provider.get(f"/rollouts/{rollout_id}").get_json()["status"] == "paused"
    to_provider = [m for m in relay_plain.received if m.recipients == ["admin@provider.example"]]
    assert [m.message["Subject"] for m in to_provider] == [f"Rollout #{rollout_id} Fix: paused"]
    to_operator = [m for m in relay_plain.received if m.recipients == ["op@acme.example"]]
    assert to_operator[-1].message["Subject"] == "Update failed: Fix"
