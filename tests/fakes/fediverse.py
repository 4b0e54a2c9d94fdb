"""Fake Mastodon, PeerTube and Pixelfed endpoints over TLS, chosen by the Host header.

They speak the routes FediPanel's checks use, with the status codes and JSON shapes of the
services' documentation:

- Mastodon (docs.joinmastodon.org): `GET /api/v1/instance`, `POST /api/v1/apps` (422 without
  client_name or redirect_uris), `POST /oauth/token` (password grant; 401 invalid_client,
  400 invalid_grant, the username being the account's email), and
  `GET /api/v1/accounts/verify_credentials` (401 "The access token is invalid").
- Pixelfed: `GET /api/nodeinfo/2.0.json`, then the same Mastodon-compatible calls.
- PeerTube (docs.joinpeertube.org/api-rest-reference.html): `GET /api/v1/config`,
  `GET /api/v1/oauth-clients/local`, `POST /api/v1/users/token` (400 invalid_grant as
  application/problem+json), `GET /api/v1/users/me` (401 without a valid token); with the
  administrator's token only (401 otherwise), the admin API of server/core/controllers/api/
  plugins.ts and users/index.ts: `GET /api/v1/plugins/{npmName}` (404 "Plugin not found"),
  `POST /api/v1/plugins/install` (400 without npmName), `PUT /api/v1/plugins/{npmName}/settings`
  (204; 400 without settings), `GET /api/v1/users?start=&count=&search=` (`{"total", "data"}`,
  count at most 100), `PUT /api/v1/users/{id}` with `role` (204; 400 "Cannot change root role."),
  `POST /api/v1/users/{id}/block` and `/unblock` (204; 400 "Cannot block the root user").

Only the administrator with the password the machine was given logs in: `password_for(service)`
is asked on every login (tests read the file the panel delivered), or `password_at(address,
service)` when the password depends on the machine the request reached. One fake may serve
several operators' domains, one `Fediverse` each, chosen by the Host header. Every request is
recorded.
"""

from __future__ import annotations

import json
import secrets
import ssl
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

from tests.fakes.peertube_admin import PeerTubeAdmin, peertube_user
from tests.fakes.tls_ca import Issued

MASTODON_INVALID_GRANT = (
    "The provided authorization grant is invalid, expired, revoked, does not match the "
    "redirection URI used in the authorization request, or was issued to another client."
)


@dataclass
class Seen:
    """One request the fake answered."""

    host: str
    method: str
    path: str


@dataclass
class Fediverse:
    """The state shared by every fake service: accounts, apps, tokens, requests."""

    domain: str
    username: str
    email: str
    password_for: Callable[[str], str | None]
    # When set, asked instead of password_for with the address the request reached.
    password_at: Callable[[str, str], str | None] | None = None
    requests: list[Seen] = field(default_factory=list)
    apps: dict[str, str] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)  # token -> service
    lock: threading.Lock = field(default_factory=threading.Lock)
    # PeerTube's installed plugins (npmName -> its JSON) and users (root and the admin first).
    plugins: dict[str, dict[str, Any]] = field(default_factory=dict)
    peertube_users: list[dict[str, Any]] = field(default_factory=list)
    bodies: list[Any] = field(default_factory=list)  # JSON bodies PeerTube was sent

    def __post_init__(self) -> None:
        self.peertube_users = [
            peertube_user(1, "root", 0),
            peertube_user(2, self.username, 0),
        ]

    def ldap_login(self, username: str, plugin: str = "peertube-plugin-auth-ldap") -> int:
        """Make the account PeerTube's LDAP plugin makes at a user's first login; its id."""
        with self.lock:
            user_id = max(u["id"] for u in self.peertube_users) + 1
            self.peertube_users.append(peertube_user(user_id, username, 2, plugin))
        return user_id

    def peertube_user(self, username: str) -> dict[str, Any]:
        return next(u for u in self.peertube_users if u["username"] == username)

    def password(self, address: str, service: str) -> str | None:
        """Return the administrator's password of `service` on the machine at `address`."""
        if self.password_at is not None:
            return self.password_at(address, service)
        return self.password_for(service)

    def service_of(self, host: str) -> str | None:
        name = host.split(":")[0]
        for service in ("mastodon", "pixelfed", "peertube"):
            if name == f"{service}.{self.domain}":
                return service
        return None


class _Handler(PeerTubeAdmin, BaseHTTPRequestHandler):
    server: _Server
    state: Fediverse

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _send(self, status: int, body: Any, content_type: str = "application/json") -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _form(self) -> dict[str, str]:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length).decode()
        return {key: values[0] for key, values in parse_qs(raw).items()}

    def _token(self, service: str) -> bool:
        header = self.headers.get("Authorization", "")
        token = header.removeprefix("Bearer ")
        return header.startswith("Bearer ") and self.state.tokens.get(token) == service

    def _handle(self, method: str) -> None:
        host = self.headers.get("Host", "")
        self.state = state = self.server.state_for(host)
        path = self.path.split("?")[0]
        with state.lock:
            state.requests.append(Seen(host, method, path))
        service = state.service_of(host)
        if service is None:
            self._send(404, {"error": f"unknown host {host}"})
            return
        route = getattr(self, f"_{service}", None)
        assert route is not None
        route(method, path)

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_PUT(self) -> None:
        self._handle("PUT")

    # --- Mastodon and Pixelfed (its Mastodon-compatible API) ------------------------------

    def _mastodon(self, method: str, path: str) -> None:
        state = self.state
        host = f"mastodon.{state.domain}"
        if (method, path) == ("GET", "/api/v1/instance"):
            self._send(
                200,
                {
                    "uri": host,
                    "title": "Mastodon",
                    "version": "4.3.2",
                    "email": state.email,
                    "registrations": False,
                },
            )
        else:
            self._mastodon_api("mastodon", method, path)

    def _pixelfed(self, method: str, path: str) -> None:
        if (method, path) == ("GET", "/api/nodeinfo/2.0.json"):
            self._send(
                200,
                {
                    "version": "2.0",
                    "software": {"name": "pixelfed", "version": "0.12.4"},
                    "protocols": ["activitypub"],
                    "openRegistrations": False,
                    "usage": {"users": {"total": 1}},
                },
            )
        else:
            self._mastodon_api("pixelfed", method, path)

    def _mastodon_api(self, service: str, method: str, path: str) -> None:
        state = self.state
        if (method, path) == ("POST", "/api/v1/apps"):
            form = self._form()
            if not form.get("client_name") or not form.get("redirect_uris"):
                self._send(422, {"error": "Validation failed: Application name can't be blank"})
                return
            client_id, client_secret = secrets.token_hex(8), secrets.token_hex(16)
            with state.lock:
                state.apps[client_id] = client_secret
            self._send(
                200,
                {
                    "id": str(len(state.apps)),
                    "name": form["client_name"],
                    "website": None,
                    "redirect_uri": form["redirect_uris"],
                    "client_id": client_id,
                    "client_secret": client_secret,
                },
            )
        elif (method, path) == ("POST", "/oauth/token"):
            form = self._form()
            if state.apps.get(form.get("client_id", "")) != form.get("client_secret"):
                self._send(
                    401,
                    {
                        "error": "invalid_client",
                        "error_description": "Client authentication failed due to unknown "
                        "client, no client authentication included, or unsupported "
                        "authentication method.",
                    },
                )
                return
            wanted = state.password(self.server.server_address[0], service)
            if (
                form.get("grant_type") != "password"
                or form.get("username") != state.email
                or wanted is None
                or form.get("password") != wanted
            ):
                self._send(
                    400, {"error": "invalid_grant", "error_description": MASTODON_INVALID_GRANT}
                )
                return
            token = secrets.token_hex(16)
            with state.lock:
                state.tokens[token] = service
            self._send(
                200,
                {"access_token": token, "token_type": "Bearer", "scope": "read", "created_at": 1},
            )
        elif (method, path) == ("GET", "/api/v1/accounts/verify_credentials"):
            if not self._token(service):
                self._send(401, {"error": "The access token is invalid"})
                return
            account: dict[str, Any] = {
                "id": "1",
                "username": state.username,
                "acct": state.username,
                "display_name": "",
            }
            if service == "mastodon":
                account["role"] = {"id": "3", "name": "Owner", "permissions": "1", "color": ""}
            self._send(200, account)
        else:
            self._send(404, {"error": "Record not found"})

    # --- PeerTube -------------------------------------------------------------------------

    def _peertube(self, method: str, path: str) -> None:
        state = self.state
        if (method, path) == ("GET", "/api/v1/config"):
            self._send(200, {"instance": {"name": "PeerTube"}, "serverVersion": "7.0.1"})
        elif (method, path) == ("GET", "/api/v1/oauth-clients/local"):
            self._send(200, {"client_id": "local-id", "client_secret": "local-secret"})
        elif (method, path) == ("POST", "/api/v1/users/token"):
            form = self._form()
            wanted = state.password(self.server.server_address[0], "peertube")
            if (form.get("client_id"), form.get("client_secret")) != ("local-id", "local-secret"):
                self._problem(400, "invalid_client", "Invalid client: client is invalid")
            elif (
                form.get("grant_type") != "password"
                or form.get("username") != state.username
                or wanted is None
                or form.get("password") != wanted
            ):
                self._problem(400, "invalid_grant", "Invalid grant: user credentials are invalid")
            else:
                token = secrets.token_hex(16)
                with state.lock:
                    state.tokens[token] = "peertube"
                self._send(
                    200,
                    {
                        "token_type": "Bearer",
                        "access_token": token,
                        "refresh_token": secrets.token_hex(16),
                        "expires_in": 86399,
                        "refresh_token_expires_in": 1209599,
                    },
                )
        elif path == "/api/v1/users" or (
            path.startswith(("/api/v1/plugins/", "/api/v1/users/")) and path != "/api/v1/users/me"
        ):
            if not self._token("peertube"):
                self._problem(401, "invalid_token", "Token is invalid")
            elif path.startswith("/api/v1/plugins/"):
                self._peertube_plugins(method, path)
            else:
                self._peertube_users(method, path)
        elif (method, path) == ("GET", "/api/v1/users/me"):
            if not self._token("peertube"):
                self._problem(401, "invalid_token", "Token is invalid")
                return
            self._send(
                200,
                {
                    "id": 2,
                    "username": state.username,
                    "email": state.email,
                    "role": {"id": 0, "label": "Administrator"},
                },
            )
        else:
            self._problem(404, "not_found", "Not found")

    def _problem(self, status: int, code: str, detail: str) -> None:
        self._send(
            status,
            {
                "type": f"https://docs.joinpeertube.org/api-rest-reference.html#section/Errors/{code}",
                "detail": detail,
                "status": status,
                "code": code,
                "error": detail,
            },
            "application/problem+json; charset=utf-8",
        )


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(
        self, address: tuple[str, int], states: list[Fediverse], context: ssl.SSLContext
    ) -> None:
        super().__init__(address, _Handler)
        self.states = states
        self.context = context

    def state_for(self, host: str) -> Fediverse:
        """Return the state of the domain `host` belongs to (the first one if none)."""
        return next((s for s in self.states if s.service_of(host)), self.states[0])

    def finish_request(self, request: Any, client_address: Any) -> None:
        # The handshake happens in the request's own thread, so a failing client blocks nobody.
        try:
            tls = self.context.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError):
            request.close()
            return
        try:
            super().finish_request(tls, client_address)
        finally:
            tls.close()


class FakeFediverse:
    """The fake services listening on one address and port (one server per machine address)."""

    def __init__(
        self,
        state: Fediverse,
        issued: Issued,
        addresses: list[str],
        port: int,
        *,
        more: Sequence[Fediverse] = (),
    ) -> None:
        self.state = state
        self.states = [state, *more]
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(issued.cert, issued.key)
        self.servers = [_Server((address, port), self.states, context) for address in addresses]
        self.threads = [
            threading.Thread(target=server.serve_forever, daemon=True) for server in self.servers
        ]

    def __enter__(self) -> FakeFediverse:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        for server in self.servers:
            server.shutdown()
            server.server_close()
