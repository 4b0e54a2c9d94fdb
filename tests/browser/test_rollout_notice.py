"""An operator sees a provider's rollout on the dashboard and picks one of their windows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import select

from fedipanel.accounts import users as accounts
from fedipanel.accounts.models import User
from fedipanel.db import db
from tests.browser.live import Console, Panel, missing_playwright
from tests.browser.test_deploy_flow import log_in
from tests.helpers import Api, sample_config, wait_for_jobs

try:
    from playwright.sync_api import expect
except ImportError:
    missing_playwright()

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.browser
WINDOW = {"timezone": "Europe/Amsterdam", "slots": [{"day": "sun", "start": "02:00", "hours": 2}]}


def api_of(panel: Panel, email: str) -> Api:
    with panel.app.app_context():
        user = db.session.scalar(select(User).where(User.email == email))
        assert user is not None
        token = accounts.create_token(user, "browser test")
    return Api(panel.app.test_client(), token)


def test_operator_sees_the_notice_and_picks_a_window(
    page: Page, panel: Panel, console: Console
) -> None:
    operator = api_of(panel, panel.operator_email)
    assert operator.put("/configuration", sample_config()).status_code == 200
    assert operator.put("/maintenance-window", WINDOW).status_code == 200
    assert operator.post("/deployments").status_code == 202
    wait_for_jobs(panel.app)
    provider = api_of(panel, panel.provider_email)
    deadline = (datetime.now(UTC) + timedelta(days=30)).isoformat()
    created = provider.post(
        "/rollouts",
        {
            "title": "NixOS 25.11",
            "reason": "Security updates for every service",
            "deadline": deadline,
            "change": {"kind": "redeploy"},
        },
    )
    assert created.status_code == 201, created.get_json()
    rollout_id = created.get_json()["id"]
    wait_for_jobs(panel.app)  # the notice's email and webhook

    log_in(page, panel)
    page.goto("/dashboard")
    updates = page.locator("#updates")
    expect(updates).to_contain_text("NixOS 25.11")
    expect(updates).to_contain_text("Security updates for every service")
    expect(updates).to_contain_text("(Europe/Amsterdam)")
    expect(page.locator("body")).to_contain_text("Planned update: NixOS 25.11")  # the notice

    choices = operator.get(f"/rollouts/{rollout_id}").get_json()["choices"]
    picker = page.get_by_label("Another of your windows")
    picker.select_option(choices[2])
    page.get_by_role("button", name="Use this window").click()
    expect(page.locator("body")).to_contain_text("moves to the window you picked")
    view = operator.get(f"/rollouts/{rollout_id}").get_json()
    assert view["state"] == "scheduled"
    assert datetime.fromisoformat(view["scheduledFor"]) == datetime.fromisoformat(choices[2])
    expect(page.get_by_label("Another of your windows")).to_have_value(choices[2])

    page.get_by_role("button", name="Run it now").click()
    expect(page.locator("body")).to_contain_text("The update runs now.")
    wait_for_jobs(panel.app)
    page.goto("/dashboard")
    expect(page.locator("#updates")).to_contain_text("succeeded")
    assert console.problems == []
