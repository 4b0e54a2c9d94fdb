"""An operator deletes their account in the browser and watches it go, live."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import pytest

from tests.browser.live import Console, Panel, missing_playwright
from tests.browser.test_deploy_flow import log_in

try:
    from playwright.sync_api import expect
except ImportError:
    missing_playwright()

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.browser


def test_operator_confirms_and_watches_the_account_deletion(
    page: Page, panel: Panel, console: Console
) -> None:
    log_in(page, panel)
    page.goto("/account")
    word = page.locator("label[for=confirm] code").inner_text()
    page.fill("input[name=password]", "not my password")
    page.fill("input[name=confirm]", "not the domain")
    page.click("#delete-account")
    expect(page.locator("#password-error")).to_have_text("This is not your password.")
    expect(page.locator("#confirm-error")).to_contain_text(f"Type {word} to confirm")

    page.fill("input[name=password]", panel.password)
    page.fill("input[name=confirm]", word)
    page.click("#delete-account")
    expect(page).to_have_url(re.compile(r"/deletions/\d+$"))
    # The page follows the job without a reload until the account is gone.
    page.evaluate("window.__same_page = true")
    expect(page.locator("#done")).to_be_visible(timeout=30_000)
    expect(page.locator("#status")).to_have_text("succeeded")
    assert page.evaluate("window.__same_page") is True
    page.goto("/dashboard")
    expect(page).to_have_url(re.compile(r"/login"))
    # The refused form answered 422 on purpose; nothing else went wrong.
    assert [p for p in console.problems if "status of 422" not in p] == []
