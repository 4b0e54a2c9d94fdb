"""The operator reveals a service's administrator password on the dashboard: only with their
own password, in place (htmx), never cached."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from fedipanel.accounts.users import create_token, find_user
from tests.browser.live import Console, Panel, missing_playwright
from tests.browser.test_deploy_flow import log_in
from tests.helpers import sample_config

try:
    from playwright.sync_api import expect
except ImportError:
    missing_playwright()

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.browser


def test_operator_reveals_the_admin_password_after_their_own_password(
    page: Page, panel: Panel, console: Console
) -> None:
    with panel.app.app_context():
        user = find_user(panel.operator_email)
        assert user is not None
        headers = {"Authorization": f"Bearer {create_token(user, 'browser test')}"}
    assert page.request.put("/api/v1/configuration", data=sample_config(), headers=headers).ok
    started = page.request.post("/api/v1/deployments", data={}, headers=headers)
    assert started.status == 202
    panel.app.extensions["fedipanel.queue"].join()
    expected = page.request.post(
        "/api/v1/services/mastodon/admin-password",
        data={"password": panel.password},
        headers=headers,
    ).json()["password"]

    log_in(page, panel)
    page.goto("/dashboard")
    row = page.locator('#services tr[data-service="mastodon"]')
    expect(row.locator(".health .badge")).to_have_text("simulated")
    row.locator("input[name=password]").fill("not my password")
    row.get_by_role("button", name="Reveal the administrator password").click()
    expect(row.get_by_role("alert")).to_have_text("That is not your password.")
    expect(row.locator("code.secret")).to_have_count(0)

    row.locator("input[name=password]").fill(panel.password)
    with page.expect_response(lambda r: r.url.endswith("/admin-password")) as answer:
        row.get_by_role("button", name="Reveal the administrator password").click()
    assert answer.value.headers["cache-control"] == "no-store"
    expect(row.locator("code.secret")).to_have_text(expected)
    # The other service's form is untouched: one reveal shows one password.
    expect(page.locator('#services tr[data-service="peertube"] code.secret')).to_have_count(0)
    assert console.problems == []
