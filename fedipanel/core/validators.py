"""Every check of a name, key, address or URL that FediPanel accepts, in one place.

Each `check_*` returns the value (normalised where that is harmless) or raises `ValueError` with a
message that reads well after the field's name ("must be ...").
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from typing import TypeVar
from urllib.parse import urlsplit

from fedipanel.core.text import N_

T = TypeVar("T")

SLUG_MAX = 40
_SLUG = re.compile(rf"^[a-z0-9]([a-z0-9-]{{0,{SLUG_MAX - 2}}}[a-z0-9])?$")
_LABEL = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
_HOST_LABEL = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$")
_USERNAME = re.compile(r"^[a-z][a-z0-9_]{0,29}$")
_EMAIL = re.compile(r"^[A-Za-z0-9._%+-]{1,64}@([A-Za-z0-9-]{1,63}\.)+[A-Za-z]{2,63}$")
_IDN_TLD = re.compile(r"^xn--[a-z0-9-]{0,58}[a-z0-9]$")
# The same rules as JSON Schema patterns (ECMA-262), for the API document: the checks below and
# these patterns accept exactly the same canonical values.
LABEL_PATTERN = _LABEL.pattern
USERNAME_PATTERN = _USERNAME.pattern
EMAIL_PATTERN = _EMAIL.pattern
DOMAIN_PATTERN = (
    r"^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+([a-z]{1,63}|xn--[a-z0-9-]{0,58}[a-z0-9])$"
)
DOMAIN_MAX = 200
# Pieces of URL patterns (no anchors): a host name or IPv4 address, and a TCP port 1-65535.
_HOST_LABEL_PIECE = r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
HOST_PIECE = rf"{_HOST_LABEL_PIECE}(\.{_HOST_LABEL_PIECE})*"
PORT_PIECE = (
    r"(6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[1-9][0-9]{0,3})"
)
EMAIL_MAX = 254
# An RFC 3339 date-time (JSON Schema's "date-time" format): its offset is never left out.
DATE_TIME = re.compile(
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?([Zz]|[+-][0-9]{2}:[0-9]{2})$"
)
_SSH_PUBLIC_KEY = re.compile(
    r"^(ssh-(ed25519|rsa|dss)|ecdsa-sha2-nistp(256|384|521)"
    r"|sk-(ssh-ed25519|ecdsa-sha2-nistp256)@openssh\.com) [A-Za-z0-9+/]+={0,3}( [^\r\n]*)?$"
)
_HOST_KEY = re.compile(
    r"^(ssh-ed25519|ecdsa-sha2-nistp(256|384|521)|ssh-rsa) [A-Za-z0-9+/]+={0,3}$"
)
RESERVED_USERNAMES = frozenset({"root", "admin", "administrator", "system", "peertube"})


def check_text(value: str) -> str:
    """Accept text that can be stored and sent anywhere: valid UTF-8 and no NUL character."""
    if "\x00" in value:
        raise ValueError(N_("must not contain a NUL character"))
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError(
            N_("must contain only characters that can be encoded as UTF-8 (no unpaired surrogates)")
        ) from None
    return value


# Proxmox node names and storage IDs (its `pve-node` and `pve-storage-id` formats).
PROXMOX_NODE = r"^[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?$"
PROXMOX_STORAGE = r"^[a-zA-Z][a-zA-Z0-9\-_.]*[a-zA-Z0-9]$"


def whole_number(text: str, low: int, high: int) -> int:
    """Parse a whole number in ASCII digits from `low` to `high`; raise ValueError naming them."""
    text = text.strip()
    if not is_digits(text) or len(text) > len(str(high)) or not low <= int(text) <= high:
        raise ValueError(f"must be a whole number from {low} to {high}")
    return int(text)


def is_digits(text: str) -> bool:
    """Return whether `text` is ASCII digits only (`isdigit` accepts "²", which int refuses)."""
    return text.isascii() and text.isdigit()


def check_slug(value: str) -> str:
    """Accept an operator's deployment name: it names VMs, buckets and the nixops4 deployment."""
    if not _SLUG.fullmatch(value):
        raise ValueError(
            f"must be lowercase letters, digits and hyphens (at most {SLUG_MAX}), "
            "not starting or ending with a hyphen"
        )
    return value


def check_label(value: str) -> str:
    """Accept one lowercase DNS label."""
    if not _LABEL.fullmatch(value):
        raise ValueError(
            N_(
                "must be 1-63 lowercase letters, digits or hyphens, "
                "not starting or ending with a hyphen"
            )
        )
    return value


def check_domain(value: str) -> str:
    """Accept a lowercase fully qualified domain name such as acme.example."""
    value = check_text(value).strip().rstrip(".")
    if value != value.lower():
        raise ValueError(N_("must be lowercase"))
    labels = value.split(".")
    if len(labels) < 2:
        raise ValueError(N_("must be a fully qualified domain such as acme.example"))
    if len(value) > DOMAIN_MAX:
        raise ValueError(
            f"must be at most {DOMAIN_MAX} characters, to leave room for service subdomains"
        )
    for label in labels:
        if not _LABEL.fullmatch(label):
            raise ValueError(f"'{label}' is not a valid DNS label")
    if not (labels[-1].isalpha() or _IDN_TLD.fullmatch(labels[-1])):
        raise ValueError(N_("the top-level domain must consist of letters (or be xn-- for IDN)"))
    return value


def check_host(value: str) -> str:
    """Accept an IP address or a host name (any case), as a server's address."""
    value = value.strip()
    if len(value) > 253:  # the longest host name; an IPv6 scope id could otherwise run on
        raise ValueError(N_("must be an IP address or a host name (at most 253 characters)"))
    try:
        ipaddress.ip_address(value)
    except ValueError:
        labels = value.rstrip(".").split(".")
        if len(value) > 253 or not all(_HOST_LABEL.fullmatch(label) for label in labels):
            raise ValueError(N_("must be an IP address or a host name")) from None
    return value


def check_username(value: str) -> str:
    """Accept a username that Mastodon, Pixelfed and PeerTube all allow."""
    if not _USERNAME.fullmatch(value):
        raise ValueError(
            N_(
                "must start with a lowercase letter and contain only lowercase letters, digits and "
                "underscores (at most 30)"
            )
        )
    if value in RESERVED_USERNAMES:
        raise ValueError(f"'{value}' is reserved by one of the services")
    return value


def check_email(value: str) -> str:
    """Accept a plain address such as alice@acme.example."""
    value = value.strip()
    if len(value) > EMAIL_MAX or not _EMAIL.fullmatch(value):
        raise ValueError(N_("must be an email address such as alice@acme.example"))
    return value


def check_ssh_public_key(value: str) -> str:
    """Accept one line of an OpenSSH public key (with an optional comment)."""
    value = value.strip()
    if not _SSH_PUBLIC_KEY.fullmatch(value):
        raise ValueError(N_("must be one line of an OpenSSH public key"))
    return value


def check_host_key(value: str) -> str:
    """Accept a machine's SSH host key (`type base64`, a trailing comment is dropped)."""
    key = " ".join(value.split()[:2])
    if not _HOST_KEY.fullmatch(key):
        raise ValueError(
            N_(
                "must be the VM's SSH host key, e.g. the content of "
                "/etc/ssh/ssh_host_ed25519_key.pub (ssh-ed25519 AAAA...)"
            )
        )
    return key


def check_url(value: str, *, schemes: tuple[str, ...] = ("http", "https")) -> str:
    """Accept an absolute URL without credentials (they would reach logs or the Nix store)."""
    value = value.strip()
    parts = urlsplit(value.replace("{bucket}", "bucket"))
    if parts.scheme not in schemes or not parts.hostname:
        raise ValueError(f"must be an {' or '.join(s + '://' for s in schemes)} URL")
    if parts.username or parts.password or "@" in parts.netloc:
        raise ValueError(N_("must not contain credentials"))
    return value


def check_port(value: str | int) -> int:
    """Accept a TCP port number."""
    text = str(value).strip()
    if not (is_digits(text) and len(text) <= 5 and 0 < int(text) < 65536):
        raise ValueError(N_("must be a port number between 1 and 65535"))
    return int(text)


def problem(check: Callable[[T], object], value: T) -> str | None:
    """Return the message of a failing `check(value)`, or None when it passes."""
    try:
        check(value)
    except ValueError as exc:
        return str(exc)
    return None
