"""What the browser tests share besides fixtures: the chromium set-up, the panel, the console."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NoReturn

import pytest
from flask import Flask

from tests.helpers import IN_CI, PASSWORD

if TYPE_CHECKING:
    from playwright.sync_api import ConsoleMessage

VIEWPORT = {"width": 1280, "height": 900}
PROVIDER_EMAIL = "admin@provider.example"
OPERATOR_EMAIL = "op@acme.example"
# Chromium reports CSP violations on the console; this also catches ones it might only dispatch
# as events. Init scripts are injected by the browser itself, so the page's CSP does not apply.
REPORT_CSP_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (event) => {
  console.error(`Refused to load (CSP ${event.violatedDirective}): ${event.blockedURI}`);
});
"""


@dataclass
class Panel:
    """A running panel: its base URL, its app and the accounts created for the test."""

    url: str
    app: Flask
    provider_email: str = PROVIDER_EMAIL
    operator_email: str = OPERATOR_EMAIL
    password: str = PASSWORD


@dataclass
class Console:
    """What the pages reported: console errors, CSP refusals and uncaught exceptions."""

    problems: list[str] = field(default_factory=list)

    def on_console(self, message: ConsoleMessage) -> None:
        if message.type == "error" or "Refused to" in message.text:
            self.problems.append(f"console.{message.type}: {message.text} ({message.location})")

    def on_page_error(self, error: Any) -> None:
        self.problems.append(f"uncaught: {error}")


def missing_playwright() -> NoReturn:
    """Skip the importing test module when playwright is missing; in CI, fail instead."""
    reason = "the playwright package is not installed (pip install -e '.[dev]')"
    if IN_CI:
        pytest.fail(f"CI must have this: {reason}", pytrace=False)
    pytest.skip(reason, allow_module_level=True)


@contextmanager
def serve(app: Flask) -> Iterator[Panel]:
    """Serve `app` on a free loopback port (threaded), with a provider and an operator."""
    from werkzeug.serving import make_server

    from fedipanel.accounts import users as accounts
    from fedipanel.db import db

    with app.app_context():
        db.create_all()
        accounts.create_user(PROVIDER_EMAIL, PASSWORD, "provider")
        accounts.create_user(OPERATOR_EMAIL, PASSWORD, "operator", "acme")
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="panel", daemon=True)
    thread.start()
    try:
        yield Panel(url=f"http://127.0.0.1:{server.server_port}", app=app)
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()
        # Let a deployment still running finish before its database goes away.
        waiter = threading.Thread(target=app.extensions["fedipanel.queue"].join, daemon=True)
        waiter.start()
        waiter.join(timeout=30)
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
