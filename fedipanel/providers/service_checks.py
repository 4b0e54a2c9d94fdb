"""Check a deployed service from the outside: its public endpoint, then its administrator's login.

The panel connects to the machine's own address with the service's host name as TLS server name
and Host header, so a check does not wait for DNS, and verifies the certificate against the
system's CAs or a bundle the provider names. Each service is asked what its documentation says:

- Mastodon: `GET /api/v1/instance`; login with an app from `POST /api/v1/apps`, a token from
  `POST /oauth/token` (password grant, the account's email as username), then
  `GET /api/v1/accounts/verify_credentials` (docs.joinmastodon.org/methods/apps,
  /methods/oauth, /methods/accounts).
- PeerTube: `GET /api/v1/config`; login with `GET /api/v1/oauth-clients/local`,
  `POST /api/v1/users/token`, then `GET /api/v1/users/me`, whose role must be Administrator
  (id 0) (docs.joinpeertube.org/api-rest-reference.html).
- Pixelfed: `GET /api/nodeinfo/2.0.json`; login through its Mastodon-compatible API, the same
  calls as Mastodon (routes/api.php, Laravel Passport's password grant).
"""

from __future__ import annotations

import http.client
import json
import socket
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

# Seconds between attempts: doubled each time, never more than this.
MAX_BACKOFF = 30.0
REQUEST_TIMEOUT = 15.0
# How much of a service's answer a message quotes.
ANSWER_CHARS = 300

HEALTH_PATHS = {
    "mastodon": "/api/v1/instance",
    "peertube": "/api/v1/config",
    "pixelfed": "/api/nodeinfo/2.0.json",
}


class CheckFailed(Exception):
    """The service did not answer as it should; the message quotes its answer."""


@dataclass(frozen=True)
class Target:
    """One deployed service and how to reach it."""

    service: str
    label: str
    fqdn: str
    address: str
    port: int = 443
    ca_bundle: str | None = None

    @property
    def health_url(self) -> str:
        return f"https://{self.fqdn}{HEALTH_PATHS[self.service]}"


@dataclass(frozen=True)
class Admin:
    """The administrator account a login check uses (the password never appears in messages)."""

    username: str
    email: str
    password: str = ""

    def __repr__(self) -> str:
        return f"Admin({self.username!r}, {self.email!r}, password=***)"


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes

    def json(self) -> Any:
        try:
            return json.loads(self.body)
        except ValueError:
            return None

    def quote(self) -> str:
        text = self.body.decode("utf-8", "replace").strip()
        return f"{self.status} {text[:ANSWER_CHARS]}".strip()


class _Connection(http.client.HTTPSConnection):
    """HTTPS to an address, with another name for TLS (SNI and certificate checks)."""

    def __init__(self, target: Target, context: ssl.SSLContext) -> None:
        super().__init__(target.address, target.port, timeout=REQUEST_TIMEOUT, context=context)
        self._server_name = target.fqdn
        self._tls = context

    def connect(self) -> None:
        sock = socket.create_connection((self.host, self.port), self.timeout)
        self.sock = self._tls.wrap_socket(sock, server_hostname=self._server_name)


def tls_context(ca_bundle: str | None) -> ssl.SSLContext:
    """Return a verifying TLS context: the system's CAs, or only the bundle when one is named."""
    return ssl.create_default_context(cafile=ca_bundle)


def request(
    target: Target,
    method: str,
    path: str,
    *,
    form: dict[str, str] | None = None,
    data: Any = None,
    token: str | None = None,
) -> Answer:
    """Send one request (a form or JSON `data`); raise CheckFailed when it cannot be reached."""
    headers = {"Host": target.fqdn, "Accept": "application/json", "User-Agent": "FediPanel"}
    body = None
    if form is not None:
        body = urlencode(form)
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    elif data is not None:
        body = json.dumps(data)
        headers["Content-Type"] = "application/json"
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    where = f"https://{target.fqdn}{path} (at {target.address}:{target.port})"
    try:
        connection = _Connection(target, tls_context(target.ca_bundle))
    except (OSError, ssl.SSLError) as exc:
        raise CheckFailed(f"the CA bundle cannot be read: {exc}") from None
    try:
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        return Answer(response.status, response.read(1024 * 1024))
    except ssl.SSLCertVerificationError as exc:
        raise CheckFailed(
            f"{where}: the TLS certificate is not valid for {target.fqdn}: "
            f"{exc.verify_message or exc.reason}"
        ) from None
    except ssl.SSLError as exc:
        raise CheckFailed(f"{where}: TLS failed: {exc.reason or exc}") from None
    except (OSError, http.client.HTTPException) as exc:
        raise CheckFailed(f"{where} cannot be reached: {exc or type(exc).__name__}") from None
    finally:
        connection.close()


def health_once(target: Target) -> str:
    """Ask the service's public endpoint once; return what it says it is."""
    answer = request(target, "GET", HEALTH_PATHS[target.service])
    data = answer.json()
    if answer.status != 200 or not isinstance(data, dict):
        raise CheckFailed(f"{target.health_url} answered {answer.quote()}")
    return f"{target.health_url} answers: {_describe(target.service, data)}"


def _describe(service: str, data: dict[str, Any]) -> str:
    if service == "peertube":
        name = (data.get("instance") or {}).get("name")
        return f"PeerTube {data.get('serverVersion', '?')} ({name or 'unnamed'})"
    if service == "pixelfed":
        software = data.get("software") or {}
        return f"{software.get('name', '?')} {software.get('version', '?')}"
    return f"Mastodon {data.get('version', '?')} ({data.get('uri') or data.get('domain') or '?'})"


def wait_healthy(
    target: Target,
    timeout: float,
    *,
    on_retry: Callable[[str, float], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> str:
    """Ask until the endpoint answers or `timeout` seconds passed, backing off between tries."""
    deadline = clock() + timeout
    delay = 1.0
    while True:
        try:
            return health_once(target)
        except CheckFailed as exc:
            left = deadline - clock()
            if left <= 0:
                raise CheckFailed(f"{exc} (gave up after {timeout:.0f} s)") from None
            wait = min(delay, left, MAX_BACKOFF)
            if on_retry is not None:
                on_retry(str(exc), wait)
            sleep(wait)
            delay *= 2


def check_login(target: Target, admin: Admin) -> str:
    """Log the administrator in through the service's own API; return who it says they are."""
    if target.service == "peertube":
        return _peertube_login(target, admin)
    return _mastodon_api_login(target, admin)


def _expect(answer: Answer, what: str, *keys: str) -> dict[str, Any]:
    data = answer.json()
    if answer.status != 200 or not isinstance(data, dict) or any(k not in data for k in keys):
        raise CheckFailed(f"{what}: {answer.quote()}")
    return data


def _mastodon_api_login(target: Target, admin: Admin) -> str:
    app = _expect(
        request(
            target,
            "POST",
            "/api/v1/apps",
            form={
                "client_name": "FediPanel check",
                "redirect_uris": "urn:ietf:wg:oauth:2.0:oob",
                "scopes": "read",
            },
        ),
        f"{target.label} refused to register the panel's app",
        "client_id",
        "client_secret",
    )
    token = _expect(
        request(
            target,
            "POST",
            "/oauth/token",
            form={
                "grant_type": "password",
                "client_id": app["client_id"],
                "client_secret": app["client_secret"],
                "username": admin.email,
                "password": admin.password,
                "scope": "read",
            },
        ),
        f"{target.label} refused the administrator's login",
        "access_token",
    )
    me = _expect(
        request(target, "GET", "/api/v1/accounts/verify_credentials", token=token["access_token"]),
        f"{target.label} refused the administrator's token",
        "username",
    )
    if me["username"] != admin.username:
        raise CheckFailed(
            f"{target.label} logged in {me['username']!r}, not the administrator {admin.username!r}"
        )
    role = me.get("role")
    if target.service == "mastodon" and isinstance(role, dict) and role.get("name") != "Owner":
        raise CheckFailed(f"{target.label}: {admin.username} has the role {role.get('name')!r}")
    return f"{admin.username} logged in through {target.label}'s API"


def peertube_token(target: Target, admin: Admin) -> str:
    """Log the administrator in to PeerTube; return the access token."""
    client = _expect(
        request(target, "GET", "/api/v1/oauth-clients/local"),
        "PeerTube did not give its local OAuth client",
        "client_id",
        "client_secret",
    )
    token = _expect(
        request(
            target,
            "POST",
            "/api/v1/users/token",
            form={
                "client_id": client["client_id"],
                "client_secret": client["client_secret"],
                "grant_type": "password",
                "username": admin.username,
                "password": admin.password,
            },
        ),
        "PeerTube refused the administrator's login",
        "access_token",
    )
    return str(token["access_token"])


def _peertube_login(target: Target, admin: Admin) -> str:
    token = peertube_token(target, admin)
    me = _expect(
        request(target, "GET", "/api/v1/users/me", token=token),
        "PeerTube refused the administrator's token",
        "username",
    )
    role = me.get("role") or {}
    if me["username"] != admin.username or role.get("id") != 0:
        raise CheckFailed(
            f"PeerTube logged in {me['username']!r} with the role {role.get('label')!r}, "
            f"not the administrator {admin.username!r}"
        )
    return f"{admin.username} logged in through PeerTube's API as {role.get('label')}"
