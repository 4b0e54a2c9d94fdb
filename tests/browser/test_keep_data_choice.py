"""The keep/delete data choice appears for a disabled service and is saved with the form."""

from __future__ import annotations

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


def test_disabled_service_asks_keep_or_delete_and_the_choice_is_saved(
    page: Page, panel: Panel, console: Console
) -> None:
    log_in(page, panel)
    page.goto("/configuration")
    page.locator('[name="domain"]').fill("acme.example")
    page.locator('[name="admin.username"]').fill("alice")
    page.locator('[name="admin.email"]').fill("alice@acme.example")
    keep = page.locator('[id="services.pixelfed.keepData.keep"]')
    delete = page.locator('[id="services.pixelfed.keepData.delete"]')
    expect(keep).to_be_visible()  # disabled: the choice is asked
    expect(keep).to_be_checked()  # and nothing is deleted unless asked
    page.locator('[name="services.pixelfed.enable"]').check()
    expect(delete).to_be_hidden()  # enabled: nothing to decide
    page.locator('[name="services.mastodon.enable"]').check()
    page.locator('[name="services.pixelfed.enable"]').uncheck()
    expect(delete).to_be_visible()
    delete.check()
    page.get_by_role("button", name="Save and review the plan").click()
    expect(page).to_have_url(f"{panel.url}/plan")
    page.goto("/configuration")
    expect(page.locator('[id="services.pixelfed.keepData.delete"]')).to_be_checked()
    expect(page.locator('[id="services.mastodon.keepData.keep"]')).to_be_hidden()
    assert console.problems == []
