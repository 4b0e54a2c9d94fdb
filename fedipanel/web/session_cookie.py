"""Flask's signed session cookie, with its signature checked once per cookie, not per request.

The serializer is built once per secret key (building one costs more than reading a small
cookie: itsdangerous checks its JSON serializer with a trial `dumps` each time), and a cookie
whose signature was verified is remembered with its time of signing: the same cookie again is
only checked for its age and decoded.
"""

from __future__ import annotations

import threading
import time

from flask import Flask, Request
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from itsdangerous import BadSignature, URLSafeTimedSerializer

KEEP_COOKIES = 4096


class SessionCookie(SecureCookieSessionInterface):
    """The default session interface; only the serializer is kept between requests."""

    def __init__(self) -> None:
        self._built: dict[tuple[object, ...], URLSafeTimedSerializer | None] = {}
        # (secret keys, cookie) -> (the session as JSON, when it was signed)
        self._verified: dict[tuple[object, str], tuple[str, float]] = {}
        self._lock = threading.Lock()

    def verified(self, app: Flask, cookie: str) -> dict[str, object] | None:
        """Return the session of a cookie verified before and not expired since, else None."""
        key = ((app.secret_key, tuple(app.config.get("SECRET_KEY_FALLBACKS") or ())), cookie)
        verified = self._verified.get(key)
        max_age = app.permanent_session_lifetime.total_seconds()
        if verified is None or time.time() - verified[1] > max_age:
            return None
        data: dict[str, object] = self.serializer.loads(verified[0])
        return data

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        cookie = request.cookies.get(self.get_cookie_name(app))
        serializer = self.get_signing_serializer(app)
        if serializer is None or not cookie:
            return super().open_session(app, request)
        max_age = int(app.permanent_session_lifetime.total_seconds())
        known = self.verified(app, cookie)
        if known is not None:
            return self.session_class(known)
        key = ((app.secret_key, tuple(app.config.get("SECRET_KEY_FALLBACKS") or ())), cookie)
        try:
            data, signed = serializer.loads(cookie, max_age=max_age, return_timestamp=True)
        except BadSignature:
            return self.session_class()
        with self._lock:
            if len(self._verified) >= KEEP_COOKIES:
                self._verified.clear()
            self._verified[key] = (self.serializer.dumps(data), signed.timestamp())
        return self.session_class(data)

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
