"""Answer a page the cache holds before Flask's request machinery, or hand the request to Flask.

A GET is answered here only when every check a page would make is already settled:
- the session cookie is one whose signature was verified before and that has not expired
  (fedipanel/web/session_cookie.py); no message waits in it;
- the login's protection mark matches this client, as Flask-Login would find it;
- the user's row was read before, the users table was not written since, and the session's
  version and the account's state still let it in (fedipanel/web/access.py);
- the page kept under this exact key (path, query, user, language, time zone, session) was
  built for this user and role, and no table it read was written since.
Anything else (another cookie, a message, an unknown user, a changed table) goes to Flask,
which checks everything itself and keeps the page for next time. The answer is the response as
it left the app then: its status, its headers (security headers included) and its body.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from typing import Any

from flask import Flask
from werkzeug.http import parse_cookie

from fedipanel.web.access import USER_FIELDS, kept_row, session_user_allowed
from fedipanel.web.page_cache import EXTENSION, KEPT_KEY, PageCache, key_for
from fedipanel.web.session_cookie import SessionCookie
from fedipanel.web.versions import read_now

StartResponse = Callable[..., Any]
WsgiApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


class CachedAnswers:
    """WSGI middleware in front of the Flask app (inside any ProxyFix)."""

    def __init__(self, app: Flask, wsgi_app: WsgiApp) -> None:
        self.app = app
        self.wsgi_app = wsgi_app

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        cache: PageCache | None = self.app.extensions.get(EXTENSION)
        if cache is None or environ.get("REQUEST_METHOD") != "GET":
            return self.wsgi_app(environ, start_response)
        answer = self._answer(cache, environ)
        if answer is not None:
            status, headers, body = answer
            start_response(status, headers)
            return [body]
        return self.wsgi_app(environ, self._recording(cache, environ, start_response))

    def _answer(
        self, cache: PageCache, environ: dict[str, Any]
    ) -> tuple[str, list[tuple[str, str]], bytes] | None:
        interface = self.app.session_interface
        cookies = parse_cookie(environ)
        cookie = cookies.get(self.app.config["SESSION_COOKIE_NAME"])
        if not cookie or not isinstance(interface, SessionCookie):
            return None
        data = interface.verified(self.app, cookie)
        if data is None or "_flashes" in data or data.get("_id") != login_mark(environ):
            return None
        user_id, _, version = str(data.get("_user_id") or "").partition(":")
        if not user_id.isdigit() or not (version or "0").isdigit():
            return None
        versions = read_now(self.app)
        row = kept_row(self.app, int(user_id), versions)
        if versions is None or row is None or not session_user_allowed(row, version):
            return None
        fields = tuple(row[name] for name in USER_FIELDS)
        csrf = data.get("csrf_token")
        key = key_for(
            environ, cookies, fields, csrf if isinstance(csrf, str) else None, cache.seconds
        )
        entry = cache.get(key)
        if entry is None or entry.final is None or not entry.current(versions):
            return None
        cache.hits += 1
        return entry.final[0], list(entry.final[1]), entry.body

    @staticmethod
    def _recording(
        cache: PageCache, environ: dict[str, Any], start_response: StartResponse
    ) -> StartResponse:
        """Wrap start_response: note the final headers of a response the page cache kept."""

        def recorded(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            key = environ.get(KEPT_KEY)
            sets_cookie = any(name.lower() == "set-cookie" for name, _ in headers)
            if key is not None and exc_info is None and not sets_cookie:
                cache.set_final(key, status, headers)
            return start_response(status, headers, exc_info)

        return recorded


def login_mark(environ: dict[str, Any]) -> str:
    """Return the mark Flask-Login's session protection keeps in the session (`_id`).

    The same sum as flask_login.utils._create_identifier, from the environ: the first address of
    X-Forwarded-For, else the client's address, and the User-Agent.
    """
    address = environ.get("HTTP_X_FORWARDED_FOR", environ.get("REMOTE_ADDR"))
    first = None if address is None else address.encode("utf-8").split(b",")[0].strip()
    agent = environ.get("HTTP_USER_AGENT")
    base = f"{first}|{None if agent is None else agent.encode('utf-8')}"
    return hashlib.sha512(base.encode("utf8")).hexdigest()


def init_cached_answers(app: Flask) -> None:
    """Put the layer in front of the app (called before any ProxyFix wraps it)."""
    app.wsgi_app = CachedAnswers(app, app.wsgi_app)  # type: ignore[method-assign]
