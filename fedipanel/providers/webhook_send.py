"""Operators' webhooks: URLs checked, secrets made, and deliveries signed per Standard Webhooks."""

from __future__ import annotations

import base64
import ipaddress
import re
import secrets
import socket
import urllib.error
import urllib.request
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from standardwebhooks import Webhook

from fedipanel.core.validators import HOST_PIECE, PORT_PIECE

SECRET_PREFIX = "whsec_"  # noqa: S105 - the prefix Standard Webhooks gives secrets
MAX_URL = 2000


class DeliveryError(Exception):
    """The receiver could not be reached or did not answer 2xx."""


def new_secret() -> str:
    """Return a fresh signing secret: `whsec_` and 32 random bytes in base64."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def url_pattern(*, allow_http_loopback: bool) -> str:
    """Return the pattern every webhook URL matches: HTTPS (HTTP to loopback if allowed).

    ASCII only (an IDN as punycode, other characters %-encoded), no user, no fragment, and a
    port from 1 to 65535 if any; IPv6 literals are not taken.
    """
    https = rf"https://{HOST_PIECE}(:{PORT_PIECE})?"
    if allow_http_loopback:
        octet = r"(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])"
        loopback = rf"(localhost|127(\.{octet}){{3}})"
        https = rf"({https}|http://{loopback}(:{PORT_PIECE})?)"
    return rf"^{https}([/?][\x21\x22\x24-\x7e]*)?$"


def url_problem(url: str, *, allow_http_loopback: bool) -> str | None:
    """Return why `url` cannot be a webhook, or None (see `url_pattern`)."""
    if len(url) > MAX_URL:
        return f"must be at most {MAX_URL} characters"
    if re.fullmatch(url_pattern(allow_http_loopback=allow_http_loopback), url):
        return None
    if any(not c.isascii() or not c.isprintable() or c.isspace() for c in url):
        return "must not hold spaces or characters beyond ASCII: %-encode them"
    try:
        parts = urlsplit(url)
    except ValueError:
        return "is not a valid URL"
    if "@" in parts.netloc:
        return "must not carry a user name or password: the signature authenticates the panel"
    if "#" in url:
        return "must not have a #fragment"
    if parts.scheme == "http" and allow_http_loopback:
        return "must be an https:// URL, or http:// to localhost or 127.x.x.x"
    return "must be an https:// URL with a host name and a port from 1 to 65535, if any"


def _check_public(url: str) -> None:
    """Refuse a receiver on a private, loopback or link-local address (the provider's network)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    try:
        infos = socket.getaddrinfo(host, parts.port or 443, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise DeliveryError(f"cannot resolve {host}: {exc.strerror or exc}") from None
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).partition("%")[0])
        if not address.is_global:
            raise DeliveryError(f"{host} resolves to {address}, which is not a public address")


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # urllib then raises the 3xx as an HTTPError


def deliver(
    url: str,
    secret: str,
    *,
    msg_id: str,
    body: str,
    timeout: float,
    public_only: bool = True,
) -> int:
    """POST the signed body to `url`; return the status, raise DeliveryError unless it is 2xx."""
    if public_only:
        _check_public(url)
    now = datetime.now(UTC).replace(microsecond=0)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "FediPanel-Webhooks/1",
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": Webhook(secret).sign(msg_id, now, body),
    }
    request = urllib.request.Request(url, data=body.encode(), headers=headers, method="POST")  # noqa: S310 - http(s) only, checked by url_problem
    opener = urllib.request.build_opener(_NoRedirects)
    host = urlsplit(url).hostname
    try:
        with opener.open(request, timeout=timeout) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        exc.close()
        if 300 <= exc.code < 400:
            raise DeliveryError(f"{host} answered {exc.code}: redirects are not followed") from None
        raise DeliveryError(f"{host} answered {exc.code}") from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", None) or exc
        raise DeliveryError(f"cannot reach {host}: {reason}") from None
