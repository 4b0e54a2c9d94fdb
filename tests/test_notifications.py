"""Notices: stored, shown on the dashboard and in the API, mailed and POSTed signed."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from fedipanel.db import db
from fedipanel.notifications.models import Notice
from fedipanel.notifications.notices import notify, notify_provider
from fedipanel.providers import webhook_send
from tests.fakes.webhook_receiver import WebhookReceiver
from tests.helpers import Api, Auth, Factory, free_port, wait_for_jobs
from tests.plugins.smtp_relay import RELAY_PASSWORD, Relay

PAYLOAD = {"rollout": 7, "scheduledFor": "2026-03-29T01:00:00Z"}


@pytest.fixture
def app_overrides() -> dict[str, Any]:
    """Retries without pauses, and http:// webhooks to the loopback receiver."""
    return {"NOTICE_BACKOFF": 0, "WEBHOOK_ALLOW_HTTP": "1"}


def _tell(app: Flask, operator_id: int, title: str = "Maintenance on Sunday") -> int:
    with app.app_context():
        notice = notify(
            operator_id,
            kind="rollout.scheduled",
            title=title,
            text="Your services are updated on Sunday at 02:00 (Europe/Amsterdam).",
            payload=PAYLOAD,
        )
        return int(notice.id)


def _told(app: Flask, operator_id: int) -> Notice:
    """Tell the operator something, wait for its delivery and return the notice."""
    notice_id = _tell(app, operator_id)
    wait_for_jobs(app)
    return _notice(app, notice_id)


def _notice(app: Flask, notice_id: int) -> Notice:
    with app.app_context():
        notice = db.session.get(Notice, notice_id)
        assert notice is not None
        db.session.expunge(notice)
        return notice


def _register(api: Api, url: str) -> str:
    answer = api.put("/webhook", {"url": url})
    assert answer.status_code == 200, answer.get_json()
    secret: str = answer.get_json()["secret"]
    return secret


def test_notice_reaches_dashboard_api_email_and_signed_webhook(
    app: Flask,
    client: FlaskClient,
    factory: Factory,
    auth: Auth,
    relay_plain: Relay,
    webhook_receiver: WebhookReceiver,
) -> None:
    app.config.update(relay_plain.settings())
    operator = factory.operator("op@acme.example", slug="acme")
    api = Api(client, factory.token(operator))
    secret = _register(api, webhook_receiver.url)

    notice_id = _tell(app, operator)
    wait_for_jobs(app)

    auth.login("op@acme.example")
    page = client.get("/dashboard").get_data(as_text=True)
    assert "Maintenance on Sunday" in page
    assert "Mark as read" in page
    listed = api.get("/notices").get_json()["notices"]
    assert listed == [
        {
            "id": notice_id,
            "kind": "rollout.scheduled",
            "title": "Maintenance on Sunday",
            "text": "Your services are updated on Sunday at 02:00 (Europe/Amsterdam).",
            "payload": PAYLOAD,
            "createdAt": listed[0]["createdAt"],
            "read": False,
        }
    ]
    assert listed[0]["createdAt"].endswith("Z")

    [mail] = relay_plain.received
    assert mail.recipients == ["op@acme.example"]
    assert mail.sender == f"panel@{relay_plain.host}"
    assert mail.message["Subject"] == "Maintenance on Sunday"
    assert "Sunday at 02:00" in mail.message.get_payload(decode=True).decode()

    [delivery] = webhook_receiver.deliveries
    body = Webhook(secret).verify(delivery.body, delivery.headers)
    assert body["type"] == "rollout.scheduled"
    assert body["data"] == {
        "id": notice_id,
        "title": "Maintenance on Sunday",
        "text": "Your services are updated on Sunday at 02:00 (Europe/Amsterdam).",
        "payload": PAYLOAD,
    }
    assert body["timestamp"] == listed[0]["createdAt"]
    assert delivery.headers["webhook-id"] == f"msg_notice_{notice_id}"
    wrong = webhook_send.new_secret()
    with pytest.raises(WebhookVerificationError):
        Webhook(wrong).verify(delivery.body, delivery.headers)
    tampered = delivery.body.replace(b"Sunday", b"Monday")
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(tampered, delivery.headers)

    stored = _notice(app, notice_id)
    assert (stored.email_status, stored.webhook_status, stored.attempts) == ("sent", "sent", 1)


def test_mark_as_read_on_the_dashboard_and_in_the_api(
    app: Flask, client: FlaskClient, factory: Factory, auth: Auth
) -> None:
    operator = factory.operator("op@acme.example", slug="acme")
    api = Api(client, factory.token(operator))
    first = _tell(app, operator, "First notice")
    second = _tell(app, operator, "Second notice")
    wait_for_jobs(app)
    auth.login("op@acme.example")

    fragment = client.post(f"/notices/{first}/read", headers={"HX-Request": "true"})
    assert fragment.status_code == 200
    text = fragment.get_data(as_text=True)
    assert 'id="notices"' in text
    assert "First notice" not in text
    assert "Second notice" in text
    assert "<html" not in text

    answer = api.post(f"/notices/{second}/read")
    assert answer.status_code == 200
    assert answer.get_json()["read"] is True
    assert [n["read"] for n in api.get("/notices").get_json()["notices"]] == [True, True]
    assert "No unread notices" in client.get("/dashboard").get_data(as_text=True)
    everything = client.get("/notices").get_data(as_text=True)
    assert "First notice" in everything
    assert "Second notice" in everything


@pytest.mark.both_databases
def test_notices_are_listed_newest_first(app: Flask, client: FlaskClient, factory: Factory) -> None:
    operator = factory.operator("op@acme.example", slug="acme")
    api = Api(client, factory.token(operator))
    for title in ("one", "two", "three"):
        _tell(app, operator, title)
    wait_for_jobs(app)
    assert [n["title"] for n in api.get("/notices").get_json()["notices"]] == [
        "three",
        "two",
        "one",
    ]


def test_another_operators_notice_is_404(
    app: Flask, client: FlaskClient, factory: Factory, auth: Auth
) -> None:
    acme = factory.operator("op@acme.example", slug="acme")
    other = factory.operator("op@other.example", slug="other")
    theirs = _tell(app, other, "Only for other")
    wait_for_jobs(app)
    api = Api(client, factory.token(acme))

    assert api.get("/notices").get_json() == {"notices": []}
    assert api.post(f"/notices/{theirs}/read").status_code == 404
    auth.login("op@acme.example")
    assert "Only for other" not in client.get("/dashboard").get_data(as_text=True)
    assert client.post(f"/notices/{theirs}/read").status_code == 404
    assert _notice(app, theirs).read_at is None


def test_provider_tokens_cannot_read_notices(client: FlaskClient, factory: Factory) -> None:
    api = Api(client, factory.token(factory.provider()))
    assert api.get("/notices").status_code == 403


def test_relay_down_is_recorded_retried_and_never_raised(
    app: Flask,
    factory: Factory,
    client: FlaskClient,
    relay_plain: Relay,
    webhook_receiver: WebhookReceiver,
    caplog: pytest.LogCaptureFixture,
) -> None:
    operator = factory.operator("op@acme.example", slug="acme")
    _register(Api(client, factory.token(operator)), webhook_receiver.url)
    app.config.update(relay_plain.settings(), SMTP_PORT=str(free_port()))  # nothing listens

    with caplog.at_level(logging.WARNING):
        notice_id = _tell(app, operator)
        wait_for_jobs(app)

    stored = _notice(app, notice_id)
    assert stored.email_status == "failed"
    assert "cannot send through 127.0.0.1" in (stored.email_detail or "")
    assert stored.attempts == 3  # NOTICE_ATTEMPTS
    # The webhook worked the first time and is not sent again by the retries.
    assert stored.webhook_status == "sent"
    assert len(webhook_receiver.deliveries) == 1
    assert relay_plain.received == []
    assert "delivery failed after 3 tries" in caplog.text


def test_relay_that_comes_back_gets_the_mail_on_a_later_try(
    app: Flask, factory: Factory, relay_plain: Relay, monkeypatch: pytest.MonkeyPatch
) -> None:
    operator = factory.operator("op@acme.example", slug="acme")
    app.config.update(relay_plain.settings())
    from fedipanel.providers import smtp_send

    real_send, calls = smtp_send.send, []

    def flaky(relay: smtp_send.Relay, mail: Any) -> None:
        calls.append(relay.host)
        if len(calls) == 1:
            raise smtp_send.SendError("cannot send through the relay: connection refused")
        real_send(relay, mail)

    monkeypatch.setattr(smtp_send, "send", flaky)
    notice_id = _tell(app, operator)
    wait_for_jobs(app)

    stored = _notice(app, notice_id)
    assert (stored.email_status, stored.attempts, len(calls)) == ("sent", 2, 2)
    assert len(relay_plain.received) == 1


def test_a_title_over_several_lines_is_a_one_line_subject(
    app: Flask, factory: Factory, relay_plain: Relay
) -> None:
    app.config.update(relay_plain.settings())
    _tell(app, factory.operator("op@acme.example", slug="acme"), "Rollout\r\nBcc: x@evil.example")
    wait_for_jobs(app)
    [mail] = relay_plain.received
    assert mail.message["Subject"] == "Rollout Bcc: x@evil.example"
    assert mail.recipients == ["op@acme.example"]


def test_without_a_relay_email_is_not_configured(app: Flask, factory: Factory) -> None:
    stored = _told(app, factory.operator("op@acme.example", slug="acme"))
    assert stored.email_status == "not configured"
    assert stored.webhook_status == "none"
    assert stored.attempts == 1


def test_mail_goes_through_starttls_and_auth(
    app: Flask,
    factory: Factory,
    relay_tls: Relay,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    assert relay_tls.ca_file is not None
    monkeypatch.setenv("SSL_CERT_FILE", relay_tls.ca_file)
    app.config.update(relay_tls.settings())
    app.config["NOTICE_FROM"] = "FediPanel <notices@provider.example>"
    operator = factory.operator("op@acme.example", slug="acme")

    with caplog.at_level(logging.DEBUG):
        notice_id = _tell(app, operator)
        wait_for_jobs(app)

    [mail] = relay_tls.received
    assert relay_tls.logins == ["panel"]
    assert mail.sender == "notices@provider.example"
    assert mail.message["From"] == "FediPanel <notices@provider.example>"
    stored = _notice(app, notice_id)
    assert stored.email_status == "sent"
    assert RELAY_PASSWORD not in caplog.text
    assert RELAY_PASSWORD not in json.dumps([stored.email_detail, stored.webhook_detail])


def test_a_relay_certificate_the_panel_does_not_trust_is_a_recorded_failure(
    app: Flask, factory: Factory, relay_tls: Relay
) -> None:
    app.config.update(relay_tls.settings())
    stored = _told(app, factory.operator("op@acme.example", slug="acme"))
    assert stored.email_status == "failed"
    assert "TLS with localhost failed" in (stored.email_detail or "")
    assert relay_tls.received == []


def test_a_password_is_never_sent_to_a_relay_without_starttls(
    app: Flask, factory: Factory, relay_plain: Relay
) -> None:
    app.config.update(relay_plain.settings(), SMTP_USER="panel", SMTP_PASSWORD=RELAY_PASSWORD)
    stored = _told(app, factory.operator("op@acme.example", slug="acme"))
    assert stored.email_status == "failed"
    assert "does not offer STARTTLS" in (stored.email_detail or "")
    assert relay_plain.received == []


def test_provider_notices_are_mailed_to_every_provider_account(
    app: Flask, factory: Factory, relay_plain: Relay
) -> None:
    app.config.update(relay_plain.settings())
    factory.provider("admin@provider.example")
    factory.provider("night-shift@provider.example")
    factory.operator("op@acme.example", slug="acme")
    with app.app_context():
        stored = notify_provider(
            kind="rollout.paused",
            title="Rollout paused",
            text="Two operators failed.",
            payload={"rollout": 7},
        )
        assert [n.webhook_status for n in stored] == ["none", "none"]
    wait_for_jobs(app)
    assert sorted(r for m in relay_plain.received for r in m.recipients) == [
        "admin@provider.example",
        "night-shift@provider.example",
    ]


def test_receiver_errors_and_redirects_are_recorded_failures(
    app: Flask, client: FlaskClient, factory: Factory, webhook_receiver: WebhookReceiver
) -> None:
    operator = factory.operator("op@acme.example", slug="acme")
    _register(Api(client, factory.token(operator)), webhook_receiver.url)

    webhook_receiver.status = 500
    failed = _told(app, operator)
    assert failed.webhook_status == "failed"
    assert "answered 500" in (failed.webhook_detail or "")
    assert len(webhook_receiver.deliveries) == 3  # tried NOTICE_ATTEMPTS times

    webhook_receiver.redirect_to = "http://127.0.0.1:9/elsewhere"
    redirected = _told(app, operator)
    assert "redirects are not followed" in (redirected.webhook_detail or "")


def test_deliveries_to_private_addresses_are_refused_in_production() -> None:
    with pytest.raises(webhook_send.DeliveryError, match="not a public address"):
        webhook_send.deliver(
            "https://127.0.0.1:1/hook",
            webhook_send.new_secret(),
            msg_id="msg_1",
            body="{}",
            timeout=1,
        )
