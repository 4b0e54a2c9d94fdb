"""A live panel per test on a free local port, one headless chromium per session."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from fedipanel import create_app
from tests.browser.live import (
    REPORT_CSP_VIOLATIONS,
    VIEWPORT,
    Console,
    Panel,
    serve,
)
from tests.chromium import CHROMIUM, CHROMIUM_ARGS
from tests.helpers import app_config, require

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    require(Path(CHROMIUM).exists(), f"{CHROMIUM} is not installed (apt install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        require(False, "the playwright package is not installed (pip install -e '.[dev]')")
        raise  # unreachable: require() skipped or failed
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


@pytest.fixture
def panel(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Panel]:
    # nixops4 on the developer's PATH must not replace the simulator these tests watch.
    monkeypatch.setenv(
        "PATH",
        os.pathsep.join(
            p for p in os.environ["PATH"].split(os.pathsep) if not Path(p, "nixops4").exists()
        ),
    )
    app = create_app(app_config(tmp_path, SIMULATOR_STEP_DELAY=0.3, WTF_CSRF_ENABLED=True))
    with serve(app) as live:
        yield live


@pytest.fixture
def console() -> Console:
    return Console()


@pytest.fixture
def page(browser: Browser, panel: Panel, console: Console) -> Iterator[Page]:
    context = browser.new_context(base_url=panel.url, viewport=VIEWPORT)
    context.set_default_timeout(10_000)
    context.add_init_script(REPORT_CSP_VIOLATIONS)
    page = context.new_page()
    page.on("console", console.on_console)
    page.on("pageerror", console.on_page_error)
    try:
        yield page
    finally:
        context.close()
