"""Every page, at 360, 390 and 1280 px wide: no sideways scrolling and no axe-core violations."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from flask import Flask
from werkzeug.serving import make_server

from fedipanel import create_app
from fedipanel.db import db
from tests.browser.live import Panel, missing_playwright, serve
from tests.browser.site import Site, populate
from tests.helpers import app_config

try:
    from axe_playwright_python.sync_playwright import Axe
    from playwright.sync_api import expect
except ImportError:
    missing_playwright()

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Page

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}
SMALLEST = {"width": 360, "height": 740}  # the narrowest screen the pages promise to fit
VIEWPORTS = {"phone": PHONE, "desktop": DESKTOP, "smallest": SMALLEST}
# Every page in every language the panel speaks (the browser asks for it: Accept-Language), at the
# widths where longer words matter most; English also at the smallest width.
VISITS = ["phone en", "desktop en", "smallest en", "phone nl", "desktop nl"]

# GET routes that answer something other than a page of their own.
NOT_PAGES = {
    "static",
    "healthz",
    "accounts.index",  # redirects to the dashboard or the operator list
    "deployments.log",  # text/plain
    "accounts.setup",  # only before the first provider exists: see test_setup_page
}

# endpoint -> (who looks, the URL from what `populate` created)
PAGES: dict[str, tuple[str, Callable[[Site], str]]] = {
    "accounts.login": ("anonymous", lambda s: "/login"),
    "accounts.reset_password": ("anonymous", lambda s: f"/reset-password/{s.reset_token}"),
    "configurations.dashboard": ("operator", lambda s: "/dashboard"),
    "configurations.edit": ("operator", lambda s: "/configuration"),
    "configurations.history": ("operator", lambda s: "/configuration/history"),
    "configurations.plan": ("operator", lambda s: "/plan"),
    "deployments.index": ("operator", lambda s: "/deployments"),
    "deployments.show": ("operator", lambda s: f"/deployments/{s.finished}"),
    "deployments.show running": ("operator", lambda s: f"/deployments/{s.running}"),
    "deployments.show read-only": ("provider", lambda s: f"/deployments/{s.finished}"),
    "maintenance.edit": ("operator", lambda s: "/maintenance"),
    "maintenance.edit provider": ("provider", lambda s: "/maintenance"),
    "identity.show": ("operator", lambda s: "/identity"),
    "deletions.account": ("operator", lambda s: "/account"),
    "deletions.account provider": ("provider", lambda s: "/account"),
    "audit_pages.own": ("operator", lambda s: "/account/audit"),
    "accounts.tokens": ("operator", lambda s: "/account/tokens"),
    "accounts.ask_revoke_token": ("operator", lambda s: f"/account/tokens/{s.token}/revoke"),
    "notices.ask_remove_webhook": ("operator", lambda s: "/account/webhook/remove"),
    "notices.index": ("operator", lambda s: "/notices"),
    "deletions.show": ("provider", lambda s: f"/deletions/{s.deletion}"),
    "operators.index": ("provider", lambda s: "/provider/operators"),
    "operators.show": ("provider", lambda s: f"/provider/operators/{s.operator}"),
    "operators.show new": ("provider", lambda s: f"/provider/operators/{s.other_operator}"),
    "storage.buckets": ("provider", lambda s: f"/provider/operators/{s.operator}/buckets"),
    "storage.ask_unassign": (
        "provider",
        lambda s: f"/provider/operators/{s.operator}/buckets/mastodon/remove",
    ),
    "deletions.confirm_delete": ("provider", lambda s: f"/provider/operators/{s.operator}/delete"),
    "machines.quotas": ("provider", lambda s: "/provider/quotas"),
    "provider_settings.index": ("provider", lambda s: "/provider/settings"),
    "provider_settings.show": ("provider", lambda s: "/provider/settings/proxmox"),
    "provider_settings.show mail": ("provider", lambda s: "/provider/settings/mail"),
    "provider_settings.show sizes": ("provider", lambda s: "/provider/settings/sizes"),
    "machines.vm_pool": ("provider", lambda s: "/provider/vm-pool"),
    "machines.ask_remove_vm": ("provider", lambda s: f"/provider/vm-pool/{s.pool_vm}/delete"),
    "audit_pages.provider": ("provider", lambda s: "/provider/audit"),
    "rollouts.index": ("provider", lambda s: "/rollouts"),
    "rollouts.show": ("provider", lambda s: f"/rollouts/{s.rollout}"),
    "rollouts.new": ("provider", lambda s: "/rollouts/new"),
    "error page": ("operator", lambda s: "/deployments/999999"),
}
STATUS = {"error page": 404}


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Panel, Site]]:
    tmp_path = tmp_path_factory.mktemp("site")
    saved_path = os.environ["PATH"]
    # nixops4 on the developer's PATH must not replace the simulator.
    os.environ["PATH"] = os.pathsep.join(
        p for p in saved_path.split(os.pathsep) if not Path(p, "nixops4").exists()
    )
    try:
        app = create_app(app_config(tmp_path, WTF_CSRF_ENABLED=True))
        with serve(app) as live:
            yield live, populate(app, live.operator_email, live.provider_email)
    finally:
        os.environ["PATH"] = saved_path


@pytest.fixture(scope="module")
def visitors(browser: Browser, site: tuple[Panel, Site]) -> Iterator[dict[tuple[str, str], Page]]:
    """One logged-in tab per role and visit (viewport and language), opened when first needed."""
    panel, _ = site
    contexts: list[BrowserContext] = []
    tabs: dict[tuple[str, str], Page] = {}

    class Tabs(dict):  # type: ignore[type-arg]
        def __missing__(self, key: tuple[str, str]) -> Page:
            role, visit = key
            viewport, language = visit.split()
            context = browser.new_context(
                base_url=panel.url, viewport=VIEWPORTS[viewport], locale=language
            )
            context.set_default_timeout(10_000)
            contexts.append(context)
            page = context.new_page()
            if role != "anonymous":
                email = panel.operator_email if role == "operator" else panel.provider_email
                page.goto("/login")
                page.fill("input[name=email]", email)
                page.fill("input[name=password]", panel.password)
                page.click("button[type=submit]")
                expect(page).not_to_have_url(f"{panel.url}/login")
            self[key] = page
            return page

    tabs = Tabs()
    try:
        yield tabs
    finally:
        for context in contexts:
            context.close()


def overflow(page: Page) -> list[str]:
    """Name the elements that stick out past the window's right edge, if the page scrolls."""
    return page.evaluate(
        """() => {
          if (document.documentElement.scrollWidth <= window.innerWidth) return [];
          const wide = [];
          for (const el of document.querySelectorAll("body *")) {
            const box = el.getBoundingClientRect();
            if (box.right > window.innerWidth + 1 && !el.closest(".table-scroll, .log-scroll"))
              wide.push(`${el.tagName.toLowerCase()}#${el.id}.${el.className} right=${box.right}`);
          }
          return [`scrollWidth ${document.documentElement.scrollWidth}`].concat(wide.slice(0, 8));
        }"""
    )


def check(page: Page, url: str, status: int = 200) -> None:
    response = page.goto(url)
    assert response is not None
    assert response.status == status, f"{url} answered {response.status}"
    stuck_out = overflow(page)
    assert not stuck_out, f"{url} scrolls sideways: {stuck_out}"
    results = Axe().run(page)
    assert results.violations_count == 0, f"{url}: {results.generate_report()}"


def test_every_page_route_is_visited(site: tuple[Panel, Site]) -> None:
    panel, _ = site
    routes = {
        rule.endpoint
        for rule in panel.app.url_map.iter_rules()
        if "GET" in (rule.methods or ()) and not rule.rule.startswith("/api/")
    }
    visited = {name.split()[0] for name in PAGES}
    assert routes - NOT_PAGES - visited == set(), "pages this test does not visit yet"


@pytest.mark.parametrize("visit", VISITS)
@pytest.mark.parametrize("name", PAGES)
def test_page_fits_and_passes_axe(
    visitors: dict[tuple[str, str], Page], site: tuple[Panel, Site], name: str, visit: str
) -> None:
    role, url = PAGES[name]
    page = visitors[role, visit]
    check(page, url(site[1]), STATUS.get(name, 200))
    assert page.locator("html").get_attribute("lang") == visit.split()[1]


# A form sent with bad values: (who, page, values typed, the field whose message is checked)
REFUSED_FORMS = {
    "configuration": ("operator", "/configuration", {"#domain": "Acme Example"}, "#domain"),
    "new operator": (
        "provider",
        "/provider/operators",
        {"#email": "new@bluebird.example", "#password": "short"},
        "#password",
    ),
    "pool VM": (
        "provider",
        "/provider/vm-pool",
        {"#address": "not a host!", "#host_key": "ssh-ed25519 nope"},
        "#address",
    ),
}


@pytest.mark.parametrize("visit", VISITS)
@pytest.mark.parametrize("name", REFUSED_FORMS)
def test_refused_form_ties_each_message_to_its_field(
    visitors: dict[tuple[str, str], Page], site: tuple[Panel, Site], name: str, visit: str
) -> None:
    role, url, values, checked = REFUSED_FORMS[name]
    page = visitors[role, visit]
    page.goto(url)
    for selector, value in values.items():
        page.fill(selector, value)
    with page.expect_navigation() as sent:
        page.locator(checked).press("Enter")
    assert sent.value is not None
    assert sent.value.status in (400, 422)
    field = page.locator(checked)
    expect(field).to_have_attribute("aria-invalid", "true")
    described_by = (field.get_attribute("aria-describedby") or "").split()
    messages = [page.locator(f"#{name}.field-error") for name in described_by]
    assert [m for m in messages if m.count() and m.inner_text().strip()], "no message named"
    stuck_out = overflow(page)
    assert not stuck_out, f"{url} scrolls sideways: {stuck_out}"
    results = Axe().run(page)
    assert results.violations_count == 0, f"{url}: {results.generate_report()}"


@contextmanager
def serve_before_setup(app: Flask) -> Iterator[str]:
    """Serve `app` with its tables but no account yet, as `/setup` finds it; yield its URL."""
    with app.app_context():
        db.create_all()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="panel", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()
        with app.app_context():
            db.engine.dispose()


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_setup_page(browser: Browser, tmp_path: Path, viewport: str) -> None:
    app = create_app(app_config(tmp_path, WTF_CSRF_ENABLED=True))
    with serve_before_setup(app) as url:
        context = browser.new_context(base_url=url, viewport=VIEWPORTS[viewport])
        try:
            check(context.new_page(), "/setup")
        finally:
            context.close()
