"""Watch a deployment page in headless chromium and record when each stamped line shows.

The page is driven by Playwright exactly as an operator's browser: log in through the form, open
`/deployments/<id>` and let htmx poll at the page's own interval. An init script records, for each
`<prefix> line <n> of <count> t=<unix time>` that appears anywhere in the page's text, the wall
time it first appeared minus the stamp. It watches the whole document with a MutationObserver, so
it does not matter whether the progress fragment replaces the log or appends new lines to it.
Browser and stamping process share the machine's clock (`performance.timeOrigin + now()`).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from tests.chromium import CHROMIUM, CHROMIUM_ARGS

RECORD_LINES = r"""
window.__benchSeen = {};
(() => {
  const pattern = /(\w+) line (\d+) of \d+ t=([0-9.]+)/g;
  const scan = () => {
    const now = (performance.timeOrigin + performance.now()) / 1000;
    const text = document.body ? document.body.textContent : "";
    for (const match of text.matchAll(pattern)) {
      const key = match[1] + " " + match[2];
      if (!(key in window.__benchSeen)) window.__benchSeen[key] = now - parseFloat(match[3]);
    }
  };
  new MutationObserver(scan).observe(document, {
    childList: true, subtree: true, characterData: true,
  });
  document.addEventListener("DOMContentLoaded", scan);
})();
"""


def chromium_available() -> str | None:
    """Say why the browser measurement cannot run here, or None when it can."""
    if not Path(CHROMIUM).exists():
        return f"{CHROMIUM} is not installed"
    try:
        import playwright.sync_api  # noqa: F401 (only whether it is installed)
    except ImportError:
        return "the playwright package is not installed"
    return None


class Watcher:
    """One headless chromium, logged in to the panel; use as a context manager."""

    def __init__(self, base_url: str, email: str, password: str) -> None:
        self.base_url = base_url
        self.email = email
        self.password = password
        self._playwright: Any = None
        self._browser: Any = None
        self.page: Any = None

    def __enter__(self) -> Watcher:
        from playwright.sync_api import sync_playwright

        self._playwright = sync_playwright().start()
        self._browser = self._playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        context = self._browser.new_context(base_url=self.base_url)
        context.set_default_timeout(30_000)
        context.add_init_script(RECORD_LINES)
        self.page = context.new_page()
        self.page.goto("/login")
        self.page.fill("input[name=email]", self.email)
        self.page.fill("input[name=password]", self.password)
        with self.page.expect_navigation():
            self.page.click("button[type=submit]")
        return self

    def __exit__(self, *_exc: object) -> None:
        if self._browser is not None:
            self._browser.close()
        if self._playwright is not None:
            self._playwright.stop()

    def open(self, path: str) -> None:
        """Open a page (the recording starts afresh with it)."""
        self.page.goto(path)

    def wait_for_lines(self, prefix: str, count: int, timeout: float) -> list[float]:
        """Wait until `count` `prefix` lines showed; return their latencies in line order."""
        # A polling loop from here: the page's CSP forbids wait_for_function's eval.
        deadline = time.monotonic() + timeout
        while True:
            seen: dict[str, float] = self.page.evaluate("window.__benchSeen")
            got = sum(1 for key in seen if key.startswith(prefix + " "))
            if got >= count:
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"the page showed {got} of {count} {prefix} lines")
            self.page.wait_for_timeout(200)
        numbered = {int(k.split()[1]): v for k, v in seen.items() if k.startswith(prefix + " ")}
        return [numbered[n] for n in sorted(numbered)]
