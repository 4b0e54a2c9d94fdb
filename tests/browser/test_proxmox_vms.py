"""With Proxmox configured (the fake), the provider tests the connection and an operator watches
the VM steps of a deployment on the progress page."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from fedipanel import create_app
from tests.browser.live import (
    Console,
    Panel,
    missing_playwright,
    serve,
)
from tests.browser.test_deploy_flow import configure_all_services, log_in, watch_deployment
from tests.fakes.proxmox import TOKEN_SECRET, FakeProxmox
from tests.helpers import app_config, free_port, require_program
from tests.plugins.proxmox import panel_settings

try:
    from playwright.sync_api import expect
except ImportError:
    missing_playwright()

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.browser


@pytest.fixture
def panel(tmp_path: Path) -> Iterator[Panel]:
    """A live panel whose deployments create VMs on the fake Proxmox."""
    fake = FakeProxmox(
        tmp_path / "pve", ssh_port=free_port(), sshd=require_program("sshd"), task_delay=0.15
    )
    require_program("ssh-keyscan")
    fake.start()
    settings = panel_settings(fake, tmp_path / "keys", PROXMOX_TASK_POLL=0.1)
    app = create_app(
        app_config(tmp_path, SIMULATOR_STEP_DELAY=0.1, WTF_CSRF_ENABLED=True, **settings)
    )
    try:
        with serve(app) as live:
            yield live
    finally:
        fake.stop()


def test_provider_tests_the_connection_and_operator_watches_vm_steps(
    page: Page, panel: Panel, console: Console
) -> None:
    log_in(page, panel, panel.provider_email)
    page.goto("/provider/settings/proxmox")
    section = page.locator("section#proxmox")
    expect(section.locator("#PROXMOX_TOKEN_SECRET")).to_have_value("(set in the environment)")
    section.get_by_role("button", name="Test connection").click()
    expect(page.locator("#test-proxmox")).to_contain_text("Proxmox: connection works.")
    assert TOKEN_SECRET not in page.content()
    page.get_by_role("button", name="Log out").click()

    log_in(page, panel)
    configure_all_services(page)
    page.get_by_role("button", name="Save and review the plan").click()
    expect(page).to_have_url(re.compile(r"/plan$"))
    expect(page.locator("#quota")).to_contain_text("unlimited")
    page.locator("#deploy").click()
    expect(page).to_have_url(re.compile(r"/deployments/\d+$"))
    _, logs = watch_deployment(page, timeout=60)
    expect(page.locator("#status")).to_have_text("succeeded")
    final = page.locator("#log").inner_text()
    assert len(logs) >= 3, "the log did not grow in place"
    for step in ("cloning", "configuring", "resizing disk", "starting", "waiting for SSH"):
        assert f"== VM mastodon: {step}" in final
    assert re.search(
        r"VM peertube: SSH answers on 127\.0\.10\.\d+:\d+; host key ssh-ed25519 ", final
    )
    assert "virtual machines" not in page.locator("#progress").inner_text()
    assert console.problems == []
