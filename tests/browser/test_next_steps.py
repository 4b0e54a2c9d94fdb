"""After deploying, the operator finds each service's link, health and admin login; the dashboard
then tells what runs from what is only saved, and leads to the plan."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import pytest

from fedipanel.accounts.users import create_token, find_user
from tests.browser.live import Console, Panel, missing_playwright
from tests.browser.test_deploy_flow import log_in, watch_deployment
from tests.helpers import sample_config

try:
    from playwright.sync_api import expect
except ImportError:
    missing_playwright()

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.browser


def test_finished_deployment_links_the_services_and_dashboard_tells_deployed_from_saved(
    page: Page, panel: Panel, console: Console
) -> None:
    with panel.app.app_context():
        user = find_user(panel.operator_email)
        assert user is not None
        headers = {"Authorization": f"Bearer {create_token(user, 'browser test')}"}
    assert page.request.put("/api/v1/configuration", data=sample_config(), headers=headers).ok

    log_in(page, panel)
    page.goto("/dashboard")
    expect(page.locator("#nothing-deployed")).to_be_visible()
    page.locator("#saved").get_by_role("link", name="Review the plan").click()
    expect(page).to_have_url(re.compile(r"/plan$"))
    page.locator("#deploy").click()
    expect(page).to_have_url(re.compile(r"/deployments/\d+$"))
    watch_deployment(page)
    expect(page.locator("#status")).to_have_text("succeeded")

    # The outcome arrives with the last progress update, without reloading the page.
    outcome = page.locator("#outcome")
    mastodon = outcome.locator('li[data-service="mastodon"]')
    expect(mastodon.get_by_role("link", name="https://mastodon.acme.example/")).to_have_attribute(
        "href", "https://mastodon.acme.example/"
    )
    expect(mastodon.locator(".badge")).to_have_text("simulated")
    expect(mastodon).to_contain_text("Administrator: alice")
    mastodon.locator("input[name=password]").fill(panel.password)
    mastodon.get_by_role("button", name="Reveal the administrator password").click()
    expect(mastodon.locator("code.secret")).to_have_text(re.compile(r"\S{12,}"))
    expect(outcome.locator('li[data-service="pixelfed"]')).to_have_count(0)

    outcome.get_by_role("link", name="Health and passwords on the dashboard").click()
    expect(page).to_have_url(re.compile(r"/dashboard#services$"))
    expect(page.locator("#deployed")).to_contain_text("Everything saved is deployed")
    expect(page.locator("#saved")).to_have_count(0)

    changed = sample_config()
    changed["services"]["mastodon"] = {"enable": True, "subdomain": "social"}
    assert page.request.put("/api/v1/configuration", data=changed, headers=headers).ok
    page.goto("/dashboard")
    services = page.locator("#services")
    expect(services.get_by_role("link", name="https://mastodon.acme.example/")).to_be_visible()
    expect(services).not_to_contain_text("social.acme.example")
    saved = page.locator("#saved")
    expect(saved.locator("#pending")).to_contain_text("version 2 is saved")
    expect(saved.locator("#differences")).to_contain_text("services.mastodon.subdomain")
    saved.get_by_role("link", name="Review the plan").click()
    expect(page).to_have_url(re.compile(r"/plan$"))
    assert console.problems == []
