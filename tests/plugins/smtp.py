"""Fixtures: aiosmtpd as the provider's relay, with STARTTLS (a test CA) and AUTH required.

The relay requires STARTTLS before anything else and a login before MAIL; it records every
login attempt and every message it accepts. `SSL_CERT_FILE` points the panel's TLS at the
test CA, as a provider with a private CA would.
"""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from tests.fakes.tls_ca import TestCa
from tests.helpers import free_port

HOST = "127.0.0.1"
USER = "relay-user"
PASSWORD = "relay-password-123"
REFUSED_RECIPIENT = "refused@acme.example"


@dataclass
class Received:
    """One message the relay accepted."""

    sender: str
    recipients: list[str]
    content: bytes
    login: str | None
    tls: bool


@dataclass
class FakeRelay:
    """A running relay: where it listens, its login, and what it saw."""

    host: str
    port: int
    user: str
    password: str
    ca_file: Path
    logins: list[tuple[str, bool]] = field(default_factory=list)
    messages: list[Received] = field(default_factory=list)

    def settings(self, **overrides: Any) -> dict[str, Any]:
        """Return FEDIPANEL_* settings (without the prefix) that point the panel at it."""
        return {
            "SMTP_HOST": self.host,
            "SMTP_PORT": str(self.port),
            "SMTP_USER": self.user,
            "SMTP_PASSWORD": self.password,
            **overrides,
        }


def make_tls(directory: Path) -> tuple[ssl.SSLContext, Path]:
    """Return a server context with a certificate for 127.0.0.1 and the CA file that signed it."""
    ca = TestCa(directory)
    issued = ca.issue("localhost", HOST, stem="relay")
    cert_file, key_file, ca_file = issued.cert, issued.key, ca.bundle
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_file, key_file)
    return context, ca_file


class _Handler:
    def __init__(self, relay: FakeRelay) -> None:
        self.relay = relay

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list
    ) -> str:
        if address == REFUSED_RECIPIENT:
            return "550 5.1.1 <refused@acme.example>: mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        login = session.auth_data.decode() if isinstance(session.auth_data, bytes) else None
        content = envelope.original_content or b""
        self.relay.messages.append(
            Received(
                str(envelope.mail_from),
                list(envelope.rcpt_tos),
                content,
                login,
                session.ssl is not None,
            )
        )
        return f"250 2.0.0 Ok: queued as TEST{len(self.relay.messages)}"


def _authenticator(relay: FakeRelay) -> Any:
    def check(
        server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        if not isinstance(data, LoginPassword):
            return AuthResult(success=False, handled=False)
        ok = data.login.decode() == relay.user and data.password.decode() == relay.password
        relay.logins.append((data.login.decode(), ok))
        return AuthResult(success=ok, handled=False, auth_data=data.login if ok else None)

    return check


def start_relay(directory: Path, *, starttls: bool = True) -> tuple[Controller, FakeRelay]:
    """Start a relay on a free port; without `starttls` it offers no TLS at all."""
    context, ca_file = make_tls(directory)
    relay = FakeRelay(HOST, free_port(), USER, PASSWORD, ca_file)
    controller = Controller(
        _Handler(relay),
        hostname=HOST,
        port=relay.port,
        tls_context=context if starttls else None,
        require_starttls=starttls,
        # Without TLS it offers no AUTH either (aiosmtpd warns against anything else).
        auth_required=starttls,
        auth_require_tls=True,
        authenticator=_authenticator(relay),
        server_hostname="relay.test",
    )
    controller.start()
    return controller, relay


@pytest.fixture
def smtp_relay(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeRelay]:
    """A relay with STARTTLS and AUTH; the panel trusts its CA."""
    controller, relay = start_relay(tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", str(relay.ca_file))
    try:
        yield relay
    finally:
        controller.stop()


@pytest.fixture
def plaintext_relay(tmp_path: Path) -> Iterator[FakeRelay]:
    """A relay that offers no STARTTLS."""
    controller, relay = start_relay(tmp_path, starttls=False)
    try:
        yield relay
    finally:
        controller.stop()
