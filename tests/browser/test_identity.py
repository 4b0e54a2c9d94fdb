"""The Identity page against a real slapd: fill in, test the connection, save, sync now."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from tests.browser.live import Console, Panel, missing_playwright
from tests.browser.test_deploy_flow import log_in
from tests.helpers import wait_for_jobs
from tests.plugins.ldap import ADMINS, BIND_DN, BIND_PASSWORD, PEOPLE, Slapd

try:
    from playwright.sync_api import expect
except ImportError:
    missing_playwright()

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.browser


def test_the_operator_connects_a_directory_and_syncs(
    page: Page, panel: Panel, console: Console, slapd: Slapd
) -> None:
    log_in(page, panel)
    page.get_by_role("link", name="Identity").click()
    page.fill("#identity-url", slapd.ldaps_url)
    page.fill("#identity-bindDn", BIND_DN)
    page.fill("#identity-bindPassword", "not the password")
    page.fill("#identity-baseDn", PEOPLE)
    page.fill("#identity-adminGroup", ADMINS)
    page.fill("#identity-caCertificate", slapd.ca_pem)
    page.get_by_role("button", name="Test connection").click()
    expect(page.locator("#test-result")).to_contain_text("bad credentials")

    page.fill("#identity-bindPassword", BIND_PASSWORD)
    page.get_by_role("button", name="Test connection").click()
    expect(page.locator("#test-result")).to_have_text("Connected: 3 users, 1 admins.")
    # The password is never sent back: it must be typed again to save.
    expect(page.locator("#identity-bindPassword")).to_have_value("")
    page.fill("#identity-bindPassword", BIND_PASSWORD)
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status").first).to_contain_text("Directory saved")
    expect(page.locator("#identity-baseDn")).to_have_value(PEOPLE)
    expect(page.locator("#identity-bindPassword")).to_have_attribute(
        "placeholder", "set (hidden): leave empty to keep it"
    )

    page.get_by_role("button", name="Sync now").click()
    expect(page.get_by_role("status").first).to_contain_text("queued")
    wait_for_jobs(panel.app)
    page.reload()
    run = page.locator(".sync-run").first
    expect(run).to_contain_text("succeeded")
    expect(run).to_contain_text("no deployed service keeps accounts of its own")
    assert BIND_PASSWORD not in page.content()
    assert console.problems == []
