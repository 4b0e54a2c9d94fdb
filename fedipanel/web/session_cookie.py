"""Flask's signed session cookie, with its serializer built once per secret key, not per request.

Building one costs more than reading a small cookie: itsdangerous checks its JSON serializer with
a trial `dumps` each time.
"""

from __future__ import annotations

import threading

from flask import Flask
from flask.sessions import SecureCookieSessionInterface
from itsdangerous import URLSafeTimedSerializer


class SessionCookie(SecureCookieSessionInterface):
    """The default session interface; only the serializer is kept between requests."""

    def __init__(self) -> None:
        self._built: dict[tuple[object, ...], URLSafeTimedSerializer | None] = {}
        self._lock = threading.Lock()

    def get_signing_serializer(self, app: Flask) -> URLSafeTimedSerializer | None:
        keys = (app.secret_key, tuple(app.config.get("SECRET_KEY_FALLBACKS") or ()))
        key = (*keys, self.salt, self.key_derivation, self.digest_method)
        built = self._built.get(key)
        if built is None:
            built = super().get_signing_serializer(app)
            with self._lock:
                if len(self._built) > 8:  # the keys changed several times (tests)
                    self._built.clear()
                self._built[key] = built
        return built


def init_session_cookie(app: Flask) -> None:
    """Use `SessionCookie` for `app`."""
    app.session_interface = SessionCookie()
