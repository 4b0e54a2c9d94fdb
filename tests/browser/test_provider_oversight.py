"""The provider opens an operator's page, reads a deployment's log and resets the password; the
operator sets a new password with the link."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import pytest

from fedipanel.accounts import users as accounts
from tests.browser.live import Console, Panel, missing_playwright
from tests.browser.test_deploy_flow import log_in
from tests.helpers import Api, sample_config, wait_for_jobs

try:
    from playwright.sync_api import expect
except ImportError:
    missing_playwright()

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

pytestmark = pytest.mark.browser

NEW_PASSWORD = "a much longer new passphrase"


def _deploy_as_the_operator(panel: Panel) -> int:
    """Save and deploy the sample configuration over the API; return the deployment's id."""
    with panel.app.app_context():
        operator = accounts.find_user(panel.operator_email)
        assert operator is not None
        token = accounts.create_token(operator, "test")
    api = Api(panel.app.test_client(), token)
    api.put("/configuration", sample_config())
    deployment_id = int(api.post("/deployments").get_json()["id"])
    wait_for_jobs(panel.app)
    return deployment_id


def test_provider_reads_an_operators_deployment_log_and_resets_the_password(
    page: Page, panel: Panel, browser: Browser, console: Console
) -> None:
    deployment_id = _deploy_as_the_operator(panel)

    log_in(page, panel, panel.provider_email)
    page.get_by_role("link", name=panel.operator_email).click()
    expect(page).to_have_url(re.compile(r"/provider/operators/\d+$"))
    expect(page.locator("h1")).to_have_text(panel.operator_email)
    expect(page.locator("#deployed-configuration")).to_contain_text("acme.example")
    expect(page.locator("#machines")).to_contain_text("mastodon")

    page.locator("#deployments").get_by_role("link", name=f"#{deployment_id}").click()
    expect(page).to_have_url(re.compile(rf"/deployments/{deployment_id}$"))
    expect(page.locator("#read-only")).to_contain_text(panel.operator_email)
    expect(page.locator("#status")).to_have_text("succeeded")
    expect(page.locator("#log")).to_contain_text("nixops4")
    expect(page.get_by_role("button", name=re.compile("Deploy"))).to_have_count(0)

    page.locator("#read-only").get_by_role("link", name=panel.operator_email).click()
    page.get_by_role("button", name="Reset password").click()
    link = page.locator("#reset-link").inner_text().strip()
    assert re.fullmatch(rf"{re.escape(panel.url)}/reset-password/\S+", link)

    operator = browser.new_context(base_url=panel.url)
    try:
        holder = operator.new_page()
        holder.on("console", console.on_console)
        holder.on("pageerror", console.on_page_error)
        holder.goto(link)
        holder.fill("input[name=password]", NEW_PASSWORD)
        holder.fill("input[name=repeat]", NEW_PASSWORD)
        holder.get_by_role("button", name="Set the new password").click()
        expect(holder).to_have_url(re.compile(r"/login$"))
        expect(holder.locator(".flash")).to_contain_text("new password is set")
        holder.fill("input[name=email]", panel.operator_email)
        holder.fill("input[name=password]", NEW_PASSWORD)
        holder.click("button[type=submit]")
        expect(holder).to_have_url(re.compile(r"/dashboard$"))
        expect(holder.locator("#pending")).to_contain_text("Everything saved is deployed")
    finally:
        operator.close()

    page.get_by_role("link", name="Operators").first.click()
    page.get_by_role("link", name=panel.operator_email).click()
    expect(page.locator("#reset-link")).to_have_count(0)  # shown only once
    expect(page.locator("#open-reset")).to_have_count(0)  # and used up
    assert console.problems == []
