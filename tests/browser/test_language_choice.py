"""A user picks Dutch and a time zone on the Account page and sees the dashboard in Dutch."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from tests.browser.live import VIEWPORT, Console, Panel, missing_playwright
from tests.browser.test_deploy_flow import log_in

try:
    from playwright.sync_api import expect
except ImportError:
    missing_playwright()

if TYPE_CHECKING:
    from playwright.sync_api import Browser

pytestmark = pytest.mark.browser


def test_operator_switches_to_dutch_and_their_time_zone(
    browser: Browser, panel: Panel, console: Console
) -> None:
    context = browser.new_context(
        base_url=panel.url, viewport=VIEWPORT, locale="en-US", timezone_id="America/New_York"
    )
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.on("console", console.on_console)
    page.on("pageerror", console.on_page_error)
    try:
        log_in(page, panel)
        page.goto("/account")
        expect(page.locator("html")).to_have_attribute("lang", "en")
        # The page told the panel the browser's zone, for as long as the user chooses none.
        zones = [c["value"] for c in context.cookies() if c["name"] == "fedipanel_tz"]
        assert zones == ["America/New_York"]

        page.select_option("#language", label="Nederlands")
        page.fill("#timeZone", "Europe/Amsterdam")
        page.get_by_role("button", name="Save language and time zone").click()
        expect(page.locator(".flash")).to_have_text("Je taal en tijdzone zijn opgeslagen.")
        expect(page.locator("html")).to_have_attribute("lang", "nl")
        expect(page.locator("#timeZone")).to_have_value("Europe/Amsterdam")
        expect(page.locator("#language")).to_have_value("nl")

        page.goto("/dashboard")
        expect(page.locator("html")).to_have_attribute("lang", "nl")
        expect(page.locator("#notices h2")).to_contain_text("Meldingen")
        expect(page.locator("#maintenance-window h2")).to_have_text("Onderhoudsvenster")
        expect(page.locator("#usage h2")).to_contain_text("Verbruik in")
        assert console.problems == []
    finally:
        context.close()
