"""Take the README's screenshots in docs/screenshots/ from a throwaway panel driven by chromium.

    make screenshots     (or: .venv/bin/python scripts/screenshots.py [--out docs/screenshots])

Starts the real panel on a free local port (temporary SQLite database, embedded job queue,
simulated infrastructure), creates a provider, two operators, a saved configuration and a
finished deployment, then walks through the pages with Debian's chromium via Playwright, on a
desktop (1280 px wide) and, for the dashboard, the plan, a finished deployment and the settings,
on a phone too (390x844, files named *-phone.png).
"""

from __future__ import annotations

import argparse
import logging
import os
import secrets
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from flask import Flask  # noqa: E402
from playwright.sync_api import Browser, Page, sync_playwright  # noqa: E402
from werkzeug.serving import make_server  # noqa: E402

from fedipanel import create_app  # noqa: E402
from fedipanel.accounts import users as accounts  # noqa: E402
from fedipanel.configurations.versions import save_configuration  # noqa: E402
from fedipanel.db import db  # noqa: E402
from fedipanel.deployments.lifecycle import start_deployment  # noqa: E402
from fedipanel.settings import effective  # noqa: E402
from tests.chromium import CHROMIUM, CHROMIUM_ARGS  # noqa: E402

VIEWPORT = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
PASSWORD = secrets.token_urlsafe(16)
PROVIDER = "admin@provider.example"
OPERATOR = "ops@acme.example"


def configuration(domain: str, *enabled: str) -> dict[str, Any]:
    return {
        "domain": domain,
        "admin": {"username": "alice", "email": f"alice@{domain}"},
        "services": {
            name: {"enable": name in enabled} for name in ("mastodon", "pixelfed", "peertube")
        },
    }


def seed(app: Flask) -> None:
    """Create the accounts, and for each operator a configuration and a finished deployment."""
    with app.app_context():
        db.create_all()
        accounts.create_user(PROVIDER, PASSWORD, "provider")
        acme = accounts.create_user(OPERATOR, PASSWORD, "operator", "acme")
        bluebird = accounts.create_user("team@bluebird.example", PASSWORD, "operator", "bluebird")
        accounts.create_user("hello@riverside.example", PASSWORD, "operator", "riverside")
        accounts.create_token(acme, "Nightly backup check")
        for operator, config in (
            (acme, configuration("acme.example", "mastodon", "peertube")),
            (bluebird, configuration("bluebird.example", "pixelfed")),
        ):
            save_configuration(operator, config, source="web", author=operator)
            start_deployment(operator, effective.current(), requested_by=operator)
    app.extensions["fedipanel.queue"].join()


@contextmanager
def running_panel(workdir: Path) -> Iterator[str]:
    """Run a fresh panel in a background thread; yield its base URL."""
    os.environ["PATH"] = os.pathsep.join(
        p for p in os.environ["PATH"].split(os.pathsep) if not Path(p, "nixops4").exists()
    )
    app = create_app(
        {
            "INSTANCE_PATH": str(workdir / "instance"),
            "DATABASE_URL": f"sqlite:///{workdir / 'fedipanel.sqlite3'}",
            "SECRET_KEY": secrets.token_urlsafe(32),
            "NIXOPS4": None,
            "REDIS_URL": None,
            "SIMULATOR_STEP_DELAY": 0.3,
            "HEARTBEAT_INTERVAL": 0.5,
        }
    )
    seed(app)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="panel", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
        app.extensions["fedipanel.queue"].join()
        with app.app_context():
            db.engine.dispose()


def new_page(browser: Browser, url: str) -> Page:
    context = browser.new_context(base_url=url, viewport=VIEWPORT)
    context.set_default_timeout(15_000)
    return context.new_page()


def log_in(page: Page, email: str) -> None:
    page.goto("/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/login" not in url)


def shoot(page: Page, out: Path, name: str, full_page: bool = False) -> None:
    path = out / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page, animations="disabled")
    print(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path)


def shoot_phone(page: Page, out: Path, name: str) -> None:
    """Shoot the page's first screen as a phone shows it, then go back to the desktop width."""
    page.set_viewport_size(PHONE)
    page.reload()
    shoot(page, out, f"{name}-phone")
    page.set_viewport_size(VIEWPORT)
    page.reload()


def take(browser: Browser, url: str, out: Path) -> None:
    page = new_page(browser, url)
    page.goto("/login")
    page.fill("input[name=email]", PROVIDER)
    shoot(page, out, "login")
    page.context.close()

    page = new_page(browser, url)
    log_in(page, PROVIDER)
    page.get_by_role("link", name="Operators", exact=True).click()
    shoot(page, out, "operators", full_page=True)
    page.get_by_role("link", name=OPERATOR).click()
    shoot(page, out, "operator-page", full_page=True)
    page.get_by_role("link", name="Settings", exact=True).click()
    shoot(page, out, "settings")
    shoot_phone(page, out, "settings")
    page.context.close()

    page = new_page(browser, url)
    log_in(page, OPERATOR)
    page.get_by_role("link", name="Configuration", exact=True).click()
    domain = page.locator('[name="domain"]')
    domain.fill("Acme Example")
    with page.expect_response(lambda r: r.url.endswith("/configuration/validate")):
        domain.blur()
    page.locator("#error-domain:not(:empty)").wait_for()
    shoot(page, out, "configuration-error", full_page=True)
    page.locator('[name="services.pixelfed.enable"]').check()

    domain.fill("acme.example")
    page.get_by_role("button", name="Save and review the plan").click()
    page.wait_for_url("**/plan")
    shoot(page, out, "plan", full_page=True)
    shoot_phone(page, out, "plan")

    page.locator("#deploy").click()
    page.wait_for_url("**/deployments/*")
    page.wait_for_function(
        "() => parseInt(document.querySelector('#percent').textContent, 10) >= 60"
        " && document.querySelectorAll('#log span').length >= 25"
    )
    shoot(page, out, "deployment-running", full_page=True)
    page.locator("#status", has_text="succeeded").wait_for(timeout=60_000)
    shoot(page, out, "deployment-finished", full_page=True)
    shoot_phone(page, out, "deployment-finished")

    page.get_by_role("link", name="Dashboard", exact=True).click()
    shoot(page, out, "dashboard", full_page=True)
    shoot_phone(page, out, "dashboard")
    page.set_viewport_size(PHONE)
    page.reload()
    page.get_by_text("Menu").click()
    shoot(page, out, "menu-phone")
    page.set_viewport_size(VIEWPORT)
    page.reload()

    page.get_by_role("link", name="API tokens", exact=True).click()
    page.fill("#name", "CI pipeline")
    page.get_by_role("button", name="Create token").click()
    page.locator("#new-token").wait_for()
    shoot(page, out, "api-tokens", full_page=True)
    page.context.close()

    page = new_page(browser, url)
    log_in(page, PROVIDER)
    page.get_by_role("link", name="Audit log", exact=True).click()
    shoot(page, out, "audit-log", full_page=True)
    page.context.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    args = parser.parse_args()
    if not Path(CHROMIUM).exists():
        sys.exit(f"{CHROMIUM} is missing: apt install chromium")
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="fedipanel-screenshots-") as workdir:  # noqa: SIM117
        with running_panel(Path(workdir)) as url, sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
            )
            try:
                take(browser, url, args.out)
            finally:
                browser.close()


if __name__ == "__main__":
    main()
