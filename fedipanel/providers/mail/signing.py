"""DKIM-sign a message the way OpenDKIM on the machines does (RFC 6376, rsa-sha256)."""

from __future__ import annotations

import dkim

# What OpenDKIM signs by default, From oversigned so that no second From can be added.
HEADERS = (b"from", b"to", b"subject", b"date", b"message-id", b"mime-version", b"content-type")


class SigningError(Exception):
    """The message could not be signed (a broken key); the message says why."""


def sign(message: bytes, *, domain: str, selector: str, private_key_pem: str) -> bytes:
    """Return the message with a DKIM-Signature header (d=domain, s=selector) prepended."""
    try:
        signature = dkim.sign(
            message,
            selector.encode(),
            domain.encode(),
            private_key_pem.encode(),
            canonicalize=(b"relaxed", b"relaxed"),
            include_headers=[*HEADERS, b"from"],
            linesep=b"\r\n",
        )
    except dkim.DKIMException as exc:
        raise SigningError(f"the DKIM key could not sign: {exc}") from None
    return bytes(signature) + message
