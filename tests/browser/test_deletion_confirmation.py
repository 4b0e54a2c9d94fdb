"""Disabling a service with "delete data" asks for the domain before anything is deployed."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import pytest

from tests.browser.live import Console, Panel, missing_playwright
from tests.browser.test_deploy_flow import log_in, watch_deployment

try:
    from playwright.sync_api import expect
except ImportError:
    missing_playwright()

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.browser


def save_configuration(page: Page) -> None:
    page.get_by_role("button", name="Save and review the plan").click()
    expect(page).to_have_url(re.compile(r"/plan$"))


def deploy_and_wait(page: Page) -> None:
    page.locator("#deploy").click()
    expect(page).to_have_url(re.compile(r"/deployments/\d+$"))
    watch_deployment(page)
    expect(page.locator("#status")).to_have_text("succeeded")


def test_deleting_data_asks_for_the_domain_refuses_a_wrong_one_and_deploys_with_it(
    page: Page, panel: Panel, console: Console
) -> None:
    log_in(page, panel)
    page.goto("/configuration")
    page.locator('[name="domain"]').fill("acme.example")
    page.locator('[name="admin.username"]').fill("alice")
    page.locator('[name="admin.email"]').fill("alice@acme.example")
    page.locator('[name="services.mastodon.enable"]').check()
    page.locator('[name="services.pixelfed.enable"]').check()
    save_configuration(page)
    expect(page.locator("#confirm")).to_have_count(0)  # nothing is deleted: no question
    deploy_and_wait(page)

    page.goto("/configuration")
    page.locator('[name="services.pixelfed.enable"]').uncheck()
    page.locator('[id="services.pixelfed.keepData.delete"]').check()
    save_configuration(page)
    deletions = page.locator("#deletions li")
    expect(deletions).to_have_text(
        [
            "access key acme-pixelfed",
            "bucket acme-pixelfed with every object in it",
            "machine pixelfed with its disk (the service's database and files)",
        ]
    )

    page.locator("#confirm").fill("wrong.example")
    page.locator("#deploy").click()
    error = page.locator("#error-confirm")
    expect(error).to_contain_text("That is not your domain: type acme.example")
    expect(page.locator("#confirm")).to_have_value("wrong.example")
    expect(page).not_to_have_url(re.compile(r"/deployments/\d+$"))
    page.goto("/deployments")
    expect(page.locator("table tbody tr")).to_have_count(1)  # nothing was deployed

    page.goto("/plan")
    page.locator("#confirm").fill("acme.example")
    deploy_and_wait(page)
    expect(page.locator("#log")).to_contain_text("deleting confirmed by typing the domain")
    # Chromium reports the refused POST's 422 on the console; nothing else may appear there.
    assert [p for p in console.problems if "status of 422" not in p] == []


def test_revoking_a_token_asks_first_and_revokes_once_confirmed(
    page: Page, panel: Panel, console: Console
) -> None:
    log_in(page, panel)
    page.goto("/account/tokens")
    page.locator("#name").fill("CI pipeline")
    page.get_by_role("button", name="Create token").click()
    page.get_by_role("link", name="Revoke…").click()
    expect(page.locator("#question")).to_contain_text("Revoke the token 'CI pipeline'")
    page.get_by_role("link", name="Cancel").click()
    expect(page.locator("table tbody tr").first).to_contain_text("active")

    page.get_by_role("link", name="Revoke…").click()
    page.get_by_role("button", name="Revoke the token").click()  # the form carries CSRF too
    expect(page.locator(".flash")).to_contain_text("Token revoked")
    expect(page.locator("table tbody tr").first).to_contain_text("revoked")
    assert console.problems == []
