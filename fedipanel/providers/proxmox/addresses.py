"""The range of static VM addresses the provider gives (`first-last/prefix`)."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from dataclasses import dataclass


class AddressError(Exception):
    """The address range is malformed or used up."""


@dataclass(frozen=True)
class AddressRange:
    """`first-last/prefix`, e.g. 192.0.2.10-192.0.2.99/24."""

    first: ipaddress.IPv4Address | ipaddress.IPv6Address
    last: ipaddress.IPv4Address | ipaddress.IPv6Address
    prefix: int

    def __iter__(self) -> Iterator[str]:
        current = int(self.first)
        while current <= int(self.last):
            yield str(ipaddress.ip_address(current))
            current += 1

    def cidr(self, address: str) -> str:
        """Return the address with the range's prefix, as cloud-init wants it."""
        return f"{address}/{self.prefix}"


def parse_range(text: str | None) -> AddressRange:
    """Parse FEDIPANEL_VM_ADDRESSES; raise AddressError saying what is wrong."""
    if not text or "/" not in text:
        raise AddressError("must look like 192.0.2.10-192.0.2.99/24 (a range with its prefix)")
    span, _, prefix_text = text.strip().rpartition("/")
    first_text, _, last_text = span.partition("-")
    try:
        first = ipaddress.ip_address(first_text.strip())
        last = ipaddress.ip_address((last_text or first_text).strip())
        prefix = int(prefix_text)
        network = ipaddress.ip_network(f"{first}/{prefix}", strict=False)
    except ValueError as exc:
        raise AddressError(f"must look like 192.0.2.10-192.0.2.99/24 ({exc})") from None
    if first.version != last.version or int(last) < int(first):
        raise AddressError("the last address must come after the first")
    if last not in network:
        raise AddressError(f"{last} is outside {network}")
    return AddressRange(first, last, prefix)
