"""PeerTube's admin API: its LDAP plugin and its users, with the administrator's token.

Built on the service checks' HTTPS to the machine (the same connection, host name and CAs).
Routes and answers from Chocobozzz/PeerTube server/core/controllers/api/plugins.ts and
users/index.ts, with their validators (middlewares/validators/plugins.ts, users/users.ts):

- `GET /api/v1/plugins/{npmName}`: the plugin with its `settings`, 404 when never installed
  (an uninstalled one stays listed with `uninstalled: true`).
- `POST /api/v1/plugins/install` `{"npmName"}`: the plugin (200), 400 when npm fails.
- `PUT /api/v1/plugins/{npmName}/settings` `{"settings": {...}}`: 204; it replaces them all.
- `GET /api/v1/users?start=&count=&sort=`: `{"total", "data": [user]}`, at most 100 a page.
- `PUT /api/v1/users/{id}`, `POST /api/v1/users/{id}/block` and `/unblock`: 204.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from fedipanel.core.account_sync import ApiStep, PeerTubeAccount
from fedipanel.providers.service_checks import Admin, CheckFailed, Target, peertube_token, request

PAGE = 100  # PeerTube's pagination validator allows no more


class AdminApiError(Exception):
    """PeerTube refused or could not be reached; the message quotes its answer."""


@dataclass(frozen=True)
class Session:
    """A PeerTube reached with its administrator's token."""

    target: Target
    token: str


def login(target: Target, admin: Admin) -> Session:
    """Log the administrator in."""
    try:
        return Session(target, peertube_token(target, admin))
    except CheckFailed as exc:
        raise AdminApiError(str(exc)) from None


def _call(session: Session, method: str, path: str, data: Any = None) -> Any:
    try:
        answer = request(session.target, method, path, data=data, token=session.token)
    except CheckFailed as exc:
        raise AdminApiError(str(exc)) from None
    if answer.status == 404:
        return None
    if answer.status not in (200, 204):
        raise AdminApiError(f"PeerTube answered {method} {path} with {answer.quote()}")
    return answer.json() if answer.status == 200 else {}


def ensure_plugin(session: Session, npm_name: str, settings: Mapping[str, Any]) -> list[str]:
    """Install the plugin if it is missing and set its settings if they differ; say what changed."""
    done: list[str] = []
    plugin = _call(session, "GET", f"/api/v1/plugins/{npm_name}")
    if not isinstance(plugin, dict) or plugin.get("uninstalled"):
        _call(session, "POST", "/api/v1/plugins/install", {"npmName": npm_name})
        done.append(f"installed {npm_name}")
        plugin = _call(session, "GET", f"/api/v1/plugins/{npm_name}")
        if not isinstance(plugin, dict):
            raise AdminApiError(f"PeerTube does not list {npm_name} after installing it")
    current = plugin.get("settings") or {}
    if any(current.get(name) != value for name, value in settings.items()):
        _call(session, "PUT", f"/api/v1/plugins/{npm_name}/settings", {"settings": dict(settings)})
        done.append(f"set the settings of {npm_name}")
    return done


def list_accounts(session: Session) -> list[PeerTubeAccount]:
    """Return every user of the instance, page by page."""
    accounts: list[PeerTubeAccount] = []
    start = 0
    while True:
        page = _call(session, "GET", f"/api/v1/users?start={start}&count={PAGE}&sort=createdAt")
        data = page.get("data") if isinstance(page, dict) else None
        if not isinstance(data, list):
            raise AdminApiError(f"PeerTube listed its users as {str(page)[:200]}")
        for user in data:
            role = user.get("role") or {}
            accounts.append(
                PeerTubeAccount(
                    id=int(user["id"]),
                    username=str(user["username"]),
                    role=int(role.get("id", 2)),
                    blocked=bool(user.get("blocked")),
                    plugin_auth=user.get("pluginAuth"),
                )
            )
        start += len(data)
        if not data or start >= int(page.get("total") or 0):
            return accounts


def apply(session: Session, step: ApiStep) -> None:
    """Send one step's request."""
    if _call(session, step.method, step.path, step.body) is None:
        raise AdminApiError(f"PeerTube has no user {step.username} any more")
