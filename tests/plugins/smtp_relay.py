"""Fixtures: a real SMTP relay (aiosmtpd) on loopback, plain or with STARTTLS and AUTH.

The TLS relay's certificate comes from a test CA made here with `cryptography`; the panel trusts
it through SSL_CERT_FILE, as a provider with a private CA would.
"""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email.message import Message
from ipaddress import IPv4Address
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

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


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


def make_test_ca(folder: Path) -> tuple[Path, Path, Path]:
    """Write a CA and a localhost server certificate it signed; return (ca, cert, key) paths."""
    now = datetime.now(UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(_name("FediPanel test CA"))
        .issuer_name(_name("FediPanel test CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(hours=1))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name("localhost"))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(hours=1))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(IPv4Address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    paths = folder / "ca.pem", folder / "relay.pem", folder / "relay.key"
    paths[0].write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return paths


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
