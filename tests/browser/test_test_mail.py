"""The dashboard's "Send test mail" reaches the relay and shows what it said, in place."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from tests.browser.live import Console, Panel, missing_playwright
from tests.browser.test_deploy_flow import log_in
from tests.plugins.smtp import FakeRelay

try:
    from playwright.sync_api import expect
except ImportError:
    missing_playwright()

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.browser


def test_operator_sends_a_test_mail_from_the_dashboard(
    page: Page, panel: Panel, console: Console, smtp_relay: FakeRelay
) -> None:
    panel.app.config.update(smtp_relay.settings())
    log_in(page, panel)
    page.goto("/configuration")
    page.locator('[name="domain"]').fill("acme.example")
    page.locator('[name="admin.username"]').fill("alice")
    page.locator('[name="admin.email"]').fill("alice@acme.example")
    page.locator('[name="services.mastodon.enable"]').check()
    page.get_by_role("button", name="Save and review the plan").click()
    expect(page).to_have_url(f"{panel.url}/plan")

    page.goto("/dashboard")
    page.get_by_role("button", name="Send test mail").click()
    result = page.locator("#mail-test-result")
    expect(result).to_contain_text("Test mail accepted by the relay")
    expect(result).to_contain_text("250 2.0.0 Ok: queued as TEST1")
    expect(result).to_contain_text("d=acme.example s=fedipanel")
    expect(page).to_have_url(f"{panel.url}/dashboard")  # in place, no page load
    (received,) = smtp_relay.messages
    assert received.login == "relay-user"
    assert received.recipients == ["alice@acme.example"]
    assert b"DKIM-Signature:" in received.content
    assert console.problems == []
