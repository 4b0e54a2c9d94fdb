"""Fixtures: a real SMTP relay (aiosmtpd) on loopback, plain or with STARTTLS and AUTH.

The TLS relay's certificate comes from a test CA made here with `cryptography`; the panel trusts
it through SSL_CERT_FILE, as a provider with a private CA would.
"""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from tests.fakes.tls_ca import TestCa
from tests.helpers import free_port

RELAY_USER = "panel"
RELAY_PASSWORD = "relay-password-never-logged"


@dataclass
class Received:
    """One message the relay accepted."""

    sender: str
    recipients: list[str]
    message: Message


@dataclass
class Relay:
    """A running relay: where it listens and what it received."""

    host: str
    port: int
    user: str | None = None
    password: str | None = None
    ca_file: str | None = None
    received: list[Received] = field(default_factory=list)
    logins: list[str] = field(default_factory=list)

    def settings(self) -> dict[str, Any]:
        """Return FEDIPANEL_* settings (without the prefix) that point the panel here."""
        values: dict[str, Any] = {"SMTP_HOST": self.host, "SMTP_PORT": str(self.port)}
        if self.user:
            values |= {"SMTP_USER": self.user, "SMTP_PASSWORD": self.password}
        return values


class _Handler:
    def __init__(self, relay: Relay) -> None:
        self.relay = relay

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        received = Received(
            envelope.mail_from, list(envelope.rcpt_tos), message_from_bytes(envelope.content)
        )
        self.relay.received.append(received)
        return "250 Message accepted"


def make_test_ca(folder: Path) -> tuple[Path, Path, Path]:
    """Write a CA and a localhost server certificate it signed; return (ca, cert, key) paths."""
    ca = TestCa(folder)
    issued = ca.issue("localhost", "127.0.0.1", stem="relay")
    return ca.bundle, issued.cert, issued.key


def _start(relay: Relay, **smtp: Any) -> Controller:
    controller = Controller(_Handler(relay), hostname="127.0.0.1", port=relay.port, **smtp)
    controller.start()
    return controller


@pytest.fixture(scope="session")
def relay_ca(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """The test CA and the relay's certificate and key, as files."""
    return make_test_ca(tmp_path_factory.mktemp("relay-ca"))


@pytest.fixture
def relay_plain() -> Iterator[Relay]:
    """A relay that accepts mail without TLS or AUTH (a relay on the provider's own network)."""
    relay = Relay("127.0.0.1", free_port())
    controller = _start(relay)
    try:
        yield relay
    finally:
        controller.stop()


@pytest.fixture
def relay_tls(relay_ca: tuple[Path, Path, Path]) -> Iterator[Relay]:
    """A relay that requires STARTTLS, then AUTH with `RELAY_USER`/`RELAY_PASSWORD`."""
    ca, cert, key = relay_ca
    relay = Relay("localhost", free_port(), RELAY_USER, RELAY_PASSWORD, str(ca))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)

    def authenticate(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> Any:
        ok = (
            isinstance(data, LoginPassword)
            and data.login.decode() == RELAY_USER
            and data.password.decode() == RELAY_PASSWORD
        )
        if ok:
            relay.logins.append(RELAY_USER)
        return AuthResult(success=ok)

    controller = _start(
        relay,
        tls_context=context,
        require_starttls=True,
        auth_required=True,
        auth_require_tls=True,
        authenticator=authenticate,
    )
    try:
        yield relay
    finally:
        controller.stop()
