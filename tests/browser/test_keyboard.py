"""An operator logs in, configures, plans, confirms, deploys and watches on a phone, keys only."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from sqlalchemy import select

from fedipanel.accounts.models import User
from fedipanel.configurations.versions import current_version
from fedipanel.db import db
from tests.browser.live import Console, Panel, missing_playwright

try:
    from playwright.sync_api import expect
except ImportError:
    missing_playwright()

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
# What the focused element shows: its outline, read from the computed style.
FOCUS_RING = """() => {
  const style = getComputedStyle(document.activeElement);
  return [style.outlineStyle, parseFloat(style.outlineWidth)];
}"""


def focused(page: Page, selector: str) -> bool:
    script = "s => !!document.activeElement && document.activeElement.matches(s)"
    return bool(page.evaluate(script, selector))


def tab_to(page: Page, selector: str, key: str = "Tab", limit: int = 60) -> None:
    """Press `key` until `selector` has the focus, and check the focus can be seen."""
    for _ in range(limit):
        page.keyboard.press(key)
        if focused(page, selector):
            style, width = page.evaluate(FOCUS_RING)
            assert style != "none", f"{selector} shows no focus ring"
            assert width >= 2, f"{selector}'s focus ring is thinner than 2px"
            return
    pytest.fail(f"{key} never reaches {selector}")


def type_into(page: Page, selector: str, text: str) -> None:
    tab_to(page, selector)
    page.keyboard.press("ControlOrMeta+a")
    page.keyboard.type(text)


def open_from_menu(page: Page, path: str) -> None:
    """Open the narrow screen's menu with Enter and follow one of its links."""
    tab_to(page, ".nav-menu summary")
    page.keyboard.press("Enter")
    expect(page.locator(".nav-menu nav")).to_be_visible()
    tab_to(page, f'.nav-menu a[href="{path}"]')
    page.keyboard.press("Enter")
    page.wait_for_url(f"**{path}")


def deploy_and_watch(page: Page) -> None:
    tab_to(page, "#deploy")
    page.keyboard.press("Enter")
    page.wait_for_url("**/deployments/*")
    expect(page.locator("#status")).to_have_text("succeeded", timeout=60_000)


def test_operator_deploys_with_the_keyboard_alone(
    page: Page, panel: Panel, console: Console
) -> None:
    page.set_viewport_size(PHONE)
    page.goto("/login")
    tab_to(page, ".skip-link")
    expect(page.locator(".skip-link")).to_be_in_viewport()
    page.keyboard.press("Enter")
    assert focused(page, "main")
    type_into(page, "input[name=email]", panel.operator_email)
    page.keyboard.press("Tab")
    page.keyboard.type(panel.password)
    page.keyboard.press("Enter")
    page.wait_for_url("**/dashboard")

    open_from_menu(page, "/configuration")
    type_into(page, "#domain", "acme.example")
    type_into(page, '[name="admin.username"]', "alice")
    type_into(page, '[name="admin.email"]', "alice@acme.example")
    tab_to(page, '[name="services.mastodon.enable"]')
    page.keyboard.press("Space")
    tab_to(page, '[name="services.pixelfed.enable"]')
    page.keyboard.press("Space")
    tab_to(page, "button[type=submit]")
    page.keyboard.press("Enter")
    page.wait_for_url("**/plan")
    expect(page.locator("table.plan")).to_contain_text("mastodon")
    deploy_and_watch(page)

    # Pixelfed goes, and its data with it: a radio button, then the domain typed to confirm.
    open_from_menu(page, "/configuration")
    tab_to(page, '[name="services.pixelfed.enable"]')
    page.keyboard.press("Space")
    tab_to(page, "#services\\.pixelfed\\.keepData\\.keep")
    page.keyboard.press("ArrowRight")
    assert focused(page, "#services\\.pixelfed\\.keepData\\.delete:checked")
    tab_to(page, "button[type=submit]")
    page.keyboard.press("Enter")
    page.wait_for_url("**/plan")
    expect(page.locator("#deletions")).to_contain_text("bucket acme-pixelfed")
    type_into(page, "#confirm", "acme.example")
    deploy_and_watch(page)
    with panel.app.app_context():
        operator = db.session.scalar(select(User).where(User.email == panel.operator_email))
        assert operator is not None
        saved = current_version(operator.id)
    assert saved is not None
    assert saved.data["services"]["pixelfed"] == {"enable": False, "keepData": False}
    assert console.problems == []
