"""Fixtures: a real BIND9 (Debian's `bind9`) serving test zones on a free loopback port.

`named -g` runs in the foreground with everything (configuration, zones, journals) in a
temporary directory. The key `fedipanel` may update every zone except `locked.example`, which
accepts no updates at all (the server answers REFUSED). Each zone starts with records of another
writer, so tests can check that they survive. Queries for the tests go straight to the server.
"""

from __future__ import annotations

import base64
import secrets
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dns.exception
import dns.message
import dns.query
import dns.rcode
import dns.rdatatype
import dns.tsigkeyring
import dns.update
import pytest

from tests.helpers import free_port, require_program

KEY_NAME = "fedipanel"
ALGORITHM = "hmac-sha256"
ZONES = ("acme.example", "provider.example")
LOCKED_ZONE = "locked.example"
# Records another writer put in the zones: FediPanel must leave them as they are.
FOREIGN = {
    "acme.example": [
        "www 300 IN A 203.0.113.80",
        "acme.example. 300 IN MX 10 mail.provider.example.",
        'acme.example. 300 IN TXT "v=spf1 mx -all"',
        'mastodon 300 IN TXT "site-verification=abc123"',
        'mastodon 300 IN CAA 0 iodef "mailto:security@acme.example"',
    ],
    "provider.example": ["ns1 300 IN A 127.0.0.1"],
    "locked.example": ["www 300 IN A 203.0.113.81"],
}
STARTUP_DEADLINE = 30.0


def _zone_file(zone: str) -> str:
    lines = [
        "$TTL 300",
        f"@ IN SOA ns1.provider.example. hostmaster.{zone}. 1 3600 600 86400 300",
        "@ IN NS ns1.provider.example.",
        *FOREIGN.get(zone, []),
    ]
    return "\n".join(lines) + "\n"


@dataclass
class BindServer:
    """A running named: where it listens, its key, and direct queries of what it serves."""

    directory: Path
    port: int
    secret: str
    host: str = "127.0.0.1"

    def settings(self, **overrides: Any) -> dict[str, Any]:
        """Return FEDIPANEL_* settings (without the prefix) that point the panel at this server."""
        return {
            "DNS_SERVER": self.host,
            "DNS_PORT": str(self.port),
            "DNS_TSIG_NAME": KEY_NAME,
            "DNS_TSIG_ALGORITHM": ALGORITHM,
            "DNS_TSIG_SECRET": self.secret,
            "DNS_ZONES": ", ".join(ZONES),
            **overrides,
        }

    def query(self, name: str, rdtype: str) -> list[str]:
        """Return the records the server answers for a name and type, in presentation form."""
        response = dns.query.tcp(
            dns.message.make_query(name, rdtype), self.host, port=self.port, timeout=10
        )
        wanted = dns.rdatatype.from_text(rdtype)
        return sorted(r.to_text() for rs in response.answer if rs.rdtype == wanted for r in rs)

    def txt(self, name: str) -> list[str]:
        """Return the TXT records of a name, each as its joined text."""
        response = dns.query.tcp(
            dns.message.make_query(name, "TXT"), self.host, port=self.port, timeout=10
        )
        return sorted(
            b"".join(r.strings).decode()
            for rs in response.answer
            if rs.rdtype == dns.rdatatype.TXT
            for r in rs
        )

    def ttl(self, name: str, rdtype: str) -> int | None:
        """Return the TTL the server gives a record set."""
        response = dns.query.tcp(
            dns.message.make_query(name, rdtype), self.host, port=self.port, timeout=10
        )
        return next((rs.ttl for rs in response.answer), None)

    def dkim_dns(self, name: bytes, timeout: int = 5) -> bytes | None:
        """Answer a TXT lookup as dkimpy's `dnsfunc` expects (for verifying signatures)."""
        found = self.txt(name.decode().rstrip("."))
        return found[0].encode() if found else None

    def update(self, zone: str, *lines: str) -> None:
        """Add records as another writer would (`name ttl type value`), signed with the key."""
        keyring = dns.tsigkeyring.from_text({KEY_NAME: (ALGORITHM, self.secret)})
        message = dns.update.UpdateMessage(zone, keyring=keyring)
        for line in lines:
            name, ttl, rdtype, value = line.split(" ", 3)
            message.add(name, int(ttl), rdtype, value)
        response = dns.query.tcp(message, self.host, port=self.port, timeout=10)
        assert response.rcode() == dns.rcode.NOERROR, dns.rcode.to_text(response.rcode())

    def delete(self, zone: str, *lines: str) -> None:
        """Delete exact records as another writer would (`name type value`)."""
        keyring = dns.tsigkeyring.from_text({KEY_NAME: (ALGORITHM, self.secret)})
        message = dns.update.UpdateMessage(zone, keyring=keyring)
        for line in lines:
            name, rdtype, value = line.split(" ", 2)
            message.delete(name, rdtype, value)
        response = dns.query.tcp(message, self.host, port=self.port, timeout=10)
        assert response.rcode() == dns.rcode.NOERROR, dns.rcode.to_text(response.rcode())

    def log(self) -> str:
        path = self.directory / "named.log"
        return path.read_text(errors="replace") if path.exists() else ""


def _config(directory: Path, port: int, secret: str) -> str:
    zones = []
    for zone in (*ZONES, LOCKED_ZONE):
        policy = (
            "allow-update { none; };"
            if zone == LOCKED_ZONE
            else f"update-policy {{ grant {KEY_NAME} zonesub ANY; }};"
        )
        zones.append(f'zone "{zone}" {{ type primary; file "{directory}/{zone}.zone"; {policy} }};')
    return f"""
options {{
    directory "{directory}";
    pid-file "{directory}/named.pid";
    session-keyfile "{directory}/session.key";
    managed-keys-directory "{directory}";
    listen-on port {port} {{ 127.0.0.1; }};
    listen-on-v6 {{ none; }};
    recursion no;
    allow-query {{ any; }};
    dnssec-validation no;
    notify no;
}};
controls {{ }};
key "{KEY_NAME}" {{ algorithm {ALGORITHM}; secret "{secret}"; }};
{chr(10).join(zones)}
"""


def _answers(port: int) -> bool:
    try:
        response = dns.query.tcp(
            dns.message.make_query(ZONES[0], "SOA"), "127.0.0.1", port=port, timeout=1
        )
    except (OSError, dns.exception.DNSException):
        return False
    return response.rcode() == dns.rcode.NOERROR and bool(response.answer)


@pytest.fixture
def bind(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BindServer]:
    """Start a fresh named with the test zones; stop it afterwards."""
    named = require_program("named")
    directory = tmp_path_factory.mktemp("bind")
    secret = base64.b64encode(secrets.token_bytes(32)).decode()
    port = free_port()
    for zone in (*ZONES, LOCKED_ZONE):
        (directory / f"{zone}.zone").write_text(_zone_file(zone))
    conf = directory / "named.conf"
    conf.write_text(_config(directory, port, secret))
    with (directory / "named.log").open("w") as log:
        process = subprocess.Popen(
            [named, "-g", "-c", str(conf)],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    server = BindServer(directory, port, secret)
    try:
        deadline = time.monotonic() + STARTUP_DEADLINE
        while not _answers(port):
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"named did not start:\n{server.log()}")
            time.sleep(0.1)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
