"""Fixtures: a webhook receiver over real HTTP on loopback."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fakes.webhook_receiver import WebhookReceiver


@pytest.fixture
def webhook_receiver() -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver().start()
    try:
        yield receiver
    finally:
        receiver.stop()
