"""An authoritative DNS server changed through TSIG-signed RFC 2136 updates, read over TCP.

Record values are plain text in one form per type: an address for A/AAAA, the presentation form
for CAA (`0 issue "letsencrypt.org"`), and for TXT the text itself (split into 255-byte strings
on the wire, joined again when read).
"""

from __future__ import annotations

import base64
import binascii
import socket
from collections.abc import Iterable
from dataclasses import dataclass, field

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.query
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rdtypes.txtbase
import dns.tsig
import dns.tsigkeyring
import dns.update

ALGORITHMS = ("hmac-sha256", "hmac-sha384", "hmac-sha512", "hmac-sha224", "hmac-sha1")
DEFAULT_ALGORITHM = "hmac-sha256"
DEFAULT_PORT = 53
_TXT_CHUNK = 255
# What the server's answer codes mean, in plain words.
_RCODES = {
    dns.rcode.REFUSED: "the key may not change this zone",
    dns.rcode.NOTAUTH: "the server is not authoritative for this zone or did not accept the key",
    dns.rcode.NOTZONE: "the name is outside the zone",
    dns.rcode.NXRRSET: "the records changed since they were read (another writer); "
    "run the deployment again",
    dns.rcode.YXRRSET: "the records changed since they were read (another writer); "
    "run the deployment again",
    dns.rcode.SERVFAIL: "the server failed to process it; see the server's log",
}


@dataclass(frozen=True)
class RecordSet:
    """The records of one name and type as the server answered them."""

    name: str
    rdtype: str
    rdatas: tuple[dns.rdata.Rdata, ...] = field(repr=False)
    ttl: int | None = None

    @property
    def values(self) -> list[str]:
        return sorted(to_value(rdata) for rdata in self.rdatas)


class DnsError(Exception):
    """The DNS server could not be reached or refused; the message says why in plain words."""


@dataclass(frozen=True)
class Connection:
    """Where the server is and the TSIG key that may update its zones."""

    server: str
    key_name: str
    secret: str = field(repr=False)
    algorithm: str = DEFAULT_ALGORITHM
    port: int = DEFAULT_PORT
    timeout: float = 10.0

    @property
    def where(self) -> str:
        return f"{self.server} port {self.port}"


def check_secret(secret: str) -> bytes:
    """Decode a TSIG secret (base64, as tsig-keygen prints it); raise ValueError when it is not."""
    try:
        decoded = base64.b64decode(secret.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("must be the key's secret in base64, as tsig-keygen prints it") from None
    if not decoded:
        raise ValueError("must not be empty")
    return decoded


def _rdatatype(rdtype: str) -> dns.rdatatype.RdataType:
    return dns.rdatatype.RdataType.make(rdtype)


def to_rdata(rdtype: str, value: str) -> dns.rdata.Rdata:
    """Return the record data of one value of this type; raise DnsError when it cannot be one."""
    text = value
    if rdtype == "TXT":
        raw = value.encode()
        chunks = [raw[i : i + _TXT_CHUNK] for i in range(0, len(raw), _TXT_CHUNK)] or [b""]
        text = " ".join(
            '"' + c.decode().replace("\\", "\\\\").replace('"', '\\"') + '"' for c in chunks
        )
    try:
        return dns.rdata.from_text(dns.rdataclass.IN, _rdatatype(rdtype), text)
    except (dns.exception.DNSException, ValueError) as exc:
        raise DnsError(f"{value!r} is not a valid {rdtype} value: {exc}") from None


def to_value(rdata: dns.rdata.Rdata) -> str:
    """Return the plain value of one record (see the module's docstring)."""
    if isinstance(rdata, dns.rdtypes.txtbase.TXTBase):
        return b"".join(rdata.strings).decode(errors="replace")
    return str(rdata.to_text())


def normalise(rdtype: str, values: Iterable[str]) -> list[str]:
    """Return values as the server would give them back, sorted and without duplicates."""
    return sorted({to_value(to_rdata(rdtype, v)) for v in values})


class DnsServer:
    """One authoritative server, reached over TCP with every message signed by the key."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        try:
            check_secret(connection.secret)
        except ValueError as exc:
            raise DnsError(f"the TSIG secret {exc}") from None
        self._keyring = dns.tsigkeyring.from_text(
            {connection.key_name: (connection.algorithm, connection.secret.strip())}
        )
        self._key_name = dns.name.from_text(connection.key_name)
        self._address: str | None = None

    def _where(self) -> str:
        if self._address is None:
            try:
                infos = socket.getaddrinfo(
                    self.connection.server, self.connection.port, type=socket.SOCK_STREAM
                )
            except OSError as exc:
                raise DnsError(
                    f"cannot find the DNS server {self.connection.server}: {exc}"
                ) from None
            self._address = str(infos[0][4][0])
        return self._address

    def _send(self, message: dns.message.Message, doing: str) -> dns.message.Message:
        message.use_tsig(self._keyring, keyname=self._key_name)
        where = self.connection.where
        try:
            return dns.query.tcp(
                message, self._where(), timeout=self.connection.timeout, port=self.connection.port
            )
        except dns.exception.Timeout:
            raise DnsError(
                f"{doing}: the DNS server {where} did not answer within "
                f"{self.connection.timeout:g} seconds"
            ) from None
        except dns.tsig.PeerBadKey:
            raise DnsError(
                f"{doing}: the DNS server {where} does not know the TSIG key "
                f"{self.connection.key_name!r} with algorithm {self.connection.algorithm} (BADKEY)"
            ) from None
        except dns.tsig.PeerBadSignature:
            raise DnsError(
                f"{doing}: the DNS server {where} rejected the signature of TSIG key "
                f"{self.connection.key_name!r}: the secret is wrong (BADSIG)"
            ) from None
        except dns.tsig.PeerBadTime:
            raise DnsError(
                f"{doing}: the DNS server {where} rejected the signature's time (BADTIME): "
                "the clocks of the panel and the server differ"
            ) from None
        except (dns.tsig.PeerError, dns.tsig.BadSignature) as exc:
            raise DnsError(f"{doing}: the DNS server {where} rejected the key: {exc}") from None
        except OSError as exc:
            raise DnsError(f"{doing}: cannot reach the DNS server {where}: {exc}") from None
        except dns.exception.DNSException as exc:
            raise DnsError(f"{doing}: the DNS server {where} answered badly: {exc}") from None

    def _check(self, response: dns.message.Message, doing: str, *, query: bool = False) -> None:
        rcode = response.rcode()
        if rcode == dns.rcode.NOERROR:
            return
        meaning = _RCODES.get(rcode, "the server refused it")
        if query and rcode in (dns.rcode.REFUSED, dns.rcode.NOTAUTH):
            meaning = "the server does not serve this zone"
        raise DnsError(
            f"{doing}: the DNS server {self.connection.where} answered "
            f"{dns.rcode.to_text(rcode)}: {meaning}"
        )

    def soa(self, zone: str) -> str:
        """Return the zone's SOA record; raise DnsError when the server does not serve the zone."""
        doing = f"checking zone {zone}"
        query = dns.message.make_query(zone, dns.rdatatype.SOA)
        query.flags &= ~dns.flags.RD
        response = self._send(query, doing)
        self._check(response, doing, query=True)
        apex = dns.name.from_text(zone)
        for rrset in response.answer:
            if rrset.rdtype == dns.rdatatype.SOA and rrset.name == apex:
                if not response.flags & dns.flags.AA:
                    break
                return str(rrset[0].to_text())
        raise DnsError(
            f"{doing}: the DNS server {self.connection.where} is not authoritative for {zone} "
            "(no SOA record at the zone's name): it does not serve this zone"
        )

    def read(self, name: str, rdtype: str) -> RecordSet:
        """Return what the server has for this name and type now (read back)."""
        doing = f"reading {rdtype} {name}"
        query = dns.message.make_query(name, _rdatatype(rdtype))
        query.flags &= ~dns.flags.RD
        response = self._send(query, doing)
        if response.rcode() == dns.rcode.NXDOMAIN:
            return RecordSet(name, rdtype, ())
        self._check(response, doing, query=True)
        wanted = dns.name.from_text(name)
        for rrset in response.answer:
            if rrset.name == wanted and rrset.rdtype == _rdatatype(rdtype):
                return RecordSet(name, rdtype, tuple(rrset), rrset.ttl)
        return RecordSet(name, rdtype, ())

    def change(
        self,
        zone: str,
        current: RecordSet,
        ttl: int,
        *,
        remove: Iterable[str] = (),
        add: Iterable[str] = (),
    ) -> None:
        """Remove and add exact values, only if the records are still exactly `current`.

        The prerequisite makes the server refuse (NXRRSET) when anybody changed these records
        since they were read, so nothing another writer added meanwhile is overwritten.
        """
        name, rdtype = dns.name.from_text(current.name), current.rdtype
        update = dns.update.UpdateMessage(zone)
        if current.rdatas:
            update.present(name, *current.rdatas)
        else:
            update.absent(name, rdtype)
        for value in remove:
            update.delete(name, to_rdata(rdtype, value))
        for value in add:
            update.add(name, ttl, to_rdata(rdtype, value))
        doing = f"updating {rdtype} {current.name} in zone {zone}"
        self._check(self._send(update, doing), doing)

    def delete(self, zone: str, name: str, rdtype: str, values: Iterable[str]) -> None:
        """Delete exactly these values: other records of the name and type stay."""
        update = dns.update.UpdateMessage(zone)
        for value in values:
            update.delete(dns.name.from_text(name), to_rdata(rdtype, value))
        doing = f"deleting {rdtype} {name} in zone {zone}"
        self._check(self._send(update, doing), doing)
