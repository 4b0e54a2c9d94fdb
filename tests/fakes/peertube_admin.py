"""The fake PeerTube's admin API: its plugins and its users, as the administrator sees them.

Routes, status codes and shapes from Chocobozzz/PeerTube server/core/controllers/api/plugins.ts
and users/index.ts with their validators; the handler checked the administrator's token first.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

ROLE_LABELS = {0: "Administrator", 1: "Moderator", 2: "User"}


def peertube_user(
    user_id: int, username: str, role: int, plugin_auth: str | None = None
) -> dict[str, Any]:
    """Return a user as PeerTube's admin API shows it (UserModel.toFormattedJSON)."""
    return {
        "id": user_id,
        "username": username,
        "email": f"{username}@acme.example",
        "pluginAuth": plugin_auth,
        "role": {"id": role, "label": ROLE_LABELS[role]},
        "blocked": False,
        "blockedReason": None,
    }


class PeerTubeAdmin:
    """Routes mixed into the fake services' request handler."""

    server: Any
    path: str
    headers: Any
    rfile: Any

    if TYPE_CHECKING:  # provided by the handler and BaseHTTPRequestHandler

        def _send(self, status: int, body: Any, content_type: str = ...) -> None: ...

        def _problem(self, status: int, code: str, detail: str) -> None: ...

        def send_response(self, code: int, message: str | None = None) -> None: ...

        def end_headers(self) -> None: ...

    def _json(self) -> Any:
        length = int(self.headers.get("Content-Length") or 0)
        try:
            body = json.loads(self.rfile.read(length) or b"{}")
        except ValueError:
            body = None
        with self.state.lock:
            self.state.bodies.append(body)
        return body if isinstance(body, dict) else {}

    def _plugin_json(self, npm_name: str) -> dict[str, Any]:
        return {
            "name": npm_name.removeprefix("peertube-plugin-"),
            "type": 1,
            "version": "0.0.14",
            "latestVersion": "0.0.14",
            "enabled": True,
            "uninstalled": False,
            "peertubeEngine": ">=2.2.0",
            "description": "Add LDAP support to login form in PeerTube.",
            "homepage": "https://framagit.org/framasoft/peertube/official-plugins",
            "settings": None,
        }

    def _peertube_plugins(self, method: str, path: str) -> None:
        state = self.state
        parts = path.removeprefix("/api/v1/plugins/").split("/")
        if (method, parts) == ("POST", ["install"]):
            npm_name = self._json().get("npmName")
            if not npm_name:
                self._problem(400, "bad_request", "Should have either a npmName or a path")
                return
            with state.lock:
                plugin = state.plugins.setdefault(npm_name, self._plugin_json(npm_name))
            self._send(200, plugin)
            return
        plugin = state.plugins.get(parts[0])
        if method == "GET" and len(parts) == 1:
            if plugin is None:
                self._problem(404, "not_found", "Plugin not found")
            else:
                self._send(200, plugin)
        elif (method, parts[1:]) == ("PUT", ["settings"]):
            body = self._json()
            if "settings" not in body:
                self._problem(400, "bad_request", "Incorrect request parameters: settings")
            elif plugin is None:
                self._problem(404, "not_found", "Plugin not found")
            else:
                with state.lock:
                    plugin["settings"] = body["settings"]
                self._no_content()
        else:
            self._problem(404, "not_found", "Not found")

    def _peertube_users(self, method: str, path: str) -> None:
        state = self.state
        parts = path.removeprefix("/api/v1/users/").split("/")
        if (method, path) == ("GET", "/api/v1/users"):
            query = parse_qs(urlsplit(self.path).query)
            start = int(query.get("start", ["0"])[0])
            count = int(query.get("count", ["15"])[0])
            if count > 100:
                self._problem(400, "bad_request", "Incorrect request parameters: count")
                return
            search = query.get("search", [""])[0].lower()
            found = [
                u
                for u in state.peertube_users
                if search in u["username"].lower() or search in u["email"].lower()
            ]
            self._send(200, {"total": len(found), "data": found[start : start + count]})
            return
        user = next((u for u in state.peertube_users if str(u["id"]) == parts[0]), None)
        if user is None:
            self._problem(404, "not_found", "User not found")
        elif method == "PUT" and len(parts) == 1:
            role = self._json().get("role")
            if role not in ROLE_LABELS:
                self._problem(400, "bad_request", "Incorrect request parameters: role")
            elif user["username"] == "root" and role != user["role"]["id"]:
                self._problem(400, "bad_request", "Cannot change root role.")
            else:
                with state.lock:
                    user["role"] = {"id": role, "label": ROLE_LABELS[role]}
                self._no_content()
        elif method == "POST" and parts[1:] in (["block"], ["unblock"]):
            self._json()
            if user["username"] == "root":
                self._problem(400, "bad_request", "Cannot block the root user")
            else:
                with state.lock:
                    user["blocked"] = parts[1] == "block"
                self._no_content()
        else:
            self._problem(404, "not_found", "Not found")

    def _no_content(self) -> None:
        self.send_response(204)
        self.end_headers()
