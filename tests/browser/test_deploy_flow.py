"""An operator configures, plans and deploys in a real browser, with htmx doing the live parts."""

from __future__ import annotations

import re
import time
from typing import TYPE_CHECKING

import pytest

from tests.browser.live import Console, Panel, missing_playwright

try:
    from playwright.sync_api import expect
except ImportError:
    missing_playwright()

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.browser

SERVICES = ("mastodon", "pixelfed", "peertube")
MARKER = "still the same page"


def log_in(page: Page, panel: Panel, email: str | None = None) -> None:
    page.goto("/login")
    page.fill("input[name=email]", email or panel.operator_email)
    page.fill("input[name=password]", panel.password)
    page.click("button[type=submit]")
    expect(page).not_to_have_url(re.compile(r"/login"))


def field(page: Page, name: str) -> object:
    return page.locator(f'[name="{name}"]')


def set_marker(page: Page) -> None:
    page.evaluate(f"window.__marker = {MARKER!r}")


def assert_not_reloaded(page: Page) -> None:
    assert page.evaluate("window.__marker") == MARKER, "the page was reloaded"


def change_and_validate(page: Page, action: object) -> None:
    """Run `action` (which changes a field) and wait for htmx's inline validation answer."""
    with page.expect_response(lambda r: r.url.endswith("/configuration/validate")) as answer:
        action()  # type: ignore[operator]
    response = answer.value
    assert response.status == 200
    # CSRF protection is on: htmx must send the token from <body hx-headers>.
    assert response.request.headers.get("x-csrftoken")


def configure_all_services(page: Page) -> None:
    page.goto("/configuration")
    page.locator('[name="domain"]').fill("acme.example")
    page.locator('[name="admin.username"]').fill("alice")
    page.locator('[name="admin.email"]').fill("alice@acme.example")
    for name in SERVICES[:-1]:
        page.locator(f'[name="services.{name}.enable"]').check()
    change_and_validate(page, page.locator(f'[name="services.{SERVICES[-1]}.enable"]').check)
    expect(page.locator(".field-error:not(:empty)")).to_have_count(0)


def watch_deployment(page: Page, timeout: float = 25.0) -> tuple[list[str], list[str]]:
    """Read #percent and #log until the status badge says finished; return what was seen."""
    percents: list[str] = []
    logs: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        percent = page.locator("#percent").inner_text()
        log = page.locator("#log").inner_text()
        if not percents or percents[-1] != percent:
            percents.append(percent)
        if not logs or logs[-1] != log:
            logs.append(log)
        if page.locator("#status").inner_text() in ("succeeded", "failed", "cancelled"):
            return percents, logs
        page.wait_for_timeout(250)
    pytest.fail(f"the deployment did not finish within {timeout}s; progress seen: {percents}")


def test_operator_configures_plans_and_watches_deployment_live(page: Page, panel: Panel) -> None:
    log_in(page, panel)

    page.goto("/configuration")
    set_marker(page)
    domain = page.locator('[name="domain"]')
    domain_error = page.locator("#error-domain")
    domain.fill("Not A Domain")
    change_and_validate(page, lambda: domain.press("Tab"))
    expect(domain_error).to_be_visible()
    expect(domain_error).to_have_text(re.compile(r"\S"))
    assert_not_reloaded(page)

    domain.fill("acme.example")
    change_and_validate(page, lambda: domain.press("Tab"))
    expect(domain_error).to_be_empty()
    assert_not_reloaded(page)

    page.locator('[name="admin.username"]').fill("alice")
    page.locator('[name="admin.email"]').fill("alice@acme.example")
    for name in SERVICES:
        change_and_validate(page, page.locator(f'[name="services.{name}.enable"]').check)
    expect(page.locator(".field-error:not(:empty)")).to_have_count(0)
    assert_not_reloaded(page)

    page.get_by_role("button", name="Save and review the plan").click()
    expect(page).to_have_url(re.compile(r"/plan$"))
    for name in SERVICES:
        row = page.locator("table.plan tbody tr", has=page.locator("code", has_text=name))
        machine = row.filter(has=page.locator("td", has_text=re.compile(r"^machine$")))
        expect(machine.first).to_have_class(re.compile(r"\bcreate\b"))

    page.locator("#deploy").click()
    expect(page).to_have_url(re.compile(r"/deployments/\d+$"))
    set_marker(page)
    percents, logs = watch_deployment(page)

    assert_not_reloaded(page)
    expect(page.locator("#status")).to_have_text("succeeded")
    expect(page.locator("#percent")).to_have_text("100%")
    assert len(percents) >= 3, f"progress did not move in place: {percents}"
    assert len(logs) >= 3, "the log did not grow in place"
    assert logs[-1].startswith(logs[0].rstrip()), "the log was rewritten instead of extended"
    expect(page.locator("#progress .badge.simulated")).to_be_visible()
    expect(page.locator("#log")).to_contain_text("[simulated]")


def test_invalid_submit_shows_message_and_keeps_input(page: Page, panel: Panel) -> None:
    log_in(page, panel)
    page.goto("/configuration")
    typed = {
        "domain": "acme.example",
        "admin.username": "alice",
        "admin.email": "alice@acme.example",
        "services.mastodon.subdomain": "social",
        "services.pixelfed.subdomain": "social",
    }
    for name, value in typed.items():
        page.locator(f'[name="{name}"]').fill(value)
    page.locator('[name="services.mastodon.enable"]').check()
    page.locator('[name="services.pixelfed.enable"]').check()

    with page.expect_response(
        lambda r: r.request.method == "POST" and r.url.endswith("/configuration")
    ) as answer:
        page.get_by_role("button", name="Save and review the plan").click()
    assert answer.value.status == 422
    page.wait_for_load_state()

    expect(page).to_have_url(re.compile(r"/configuration$"))
    expect(page.locator(".flash.error")).to_contain_text("Nothing was saved")
    expect(page.locator("#error-services")).to_contain_text("cannot share the subdomain 'social'")
    for name, value in typed.items():
        expect(page.locator(f'[name="{name}"]')).to_have_value(value)
    expect(page.locator('[name="services.mastodon.enable"]')).to_be_checked()
    expect(page.locator('[name="services.pixelfed.enable"]')).to_be_checked()
    expect(page.locator('[name="services.peertube.enable"]')).not_to_be_checked()


def test_pages_raise_no_console_errors_or_csp_violations(
    page: Page, panel: Panel, console: Console
) -> None:
    log_in(page, panel)
    page.goto("/dashboard")
    configure_all_services(page)
    domain = page.locator('[name="domain"]')
    domain.fill("Not A Domain")
    change_and_validate(page, lambda: domain.press("Tab"))
    domain.fill("acme.example")
    change_and_validate(page, lambda: domain.press("Tab"))
    page.get_by_role("button", name="Save and review the plan").click()
    expect(page).to_have_url(re.compile(r"/plan$"))
    page.locator("#deploy").click()
    expect(page).to_have_url(re.compile(r"/deployments/\d+$"))
    watch_deployment(page)
    for path in ("/deployments", "/configuration/history", "/account/tokens"):
        page.goto(path)
    page.get_by_role("button", name="Create token").click()
    expect(page.locator("#new-token")).to_be_visible()
    page.get_by_role("button", name="Log out").click()
    log_in(page, panel, panel.provider_email)
    expect(page).to_have_url(re.compile(r"/operators$"))

    assert console.problems == []
