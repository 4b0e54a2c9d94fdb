"""Serve a page built moments ago again while nothing it was built from has changed.

An entry is one user's page (path, language, time zone, htmx headers, session's CSRF token)
together with the versions of the tables read while building it (fedipanel/data_versions.py).
A request compares those with the versions now: any write since, by any process, rebuilds the
page. What depends on the clock alone (this month's usage, the next maintenance opening) is
rebuilt at the latest every PAGE_CACHE_SECONDS, on the same boundaries in every process.
Each process keeps its own entries, at most PAGE_CACHE_MEGABYTES of them, least recent first out.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import wraps
from typing import Any, TypeVar, cast

from flask import Flask, Response, current_app, g, make_response, request, session
from flask_login import current_user

from fedipanel.data_versions import recording
from fedipanel.web.access import USER_FIELDS
from fedipanel.web.i18n import TIME_ZONE_COOKIE
from fedipanel.web.versions import request_versions

F = TypeVar("F", bound=Callable[..., Any])
EXTENSION = "fedipanel.page_cache"
KEPT_STATUSES = (200, 204)  # a page, and "nothing new" to a poll
_NOT_KEPT = "fedipanel_page_not_kept"
KEPT_KEY = "fedipanel.page_cache.kept"  # in the WSGI environ: the key the response was kept under


@dataclass
class Entry:
    body: bytes
    status: int
    headers: tuple[tuple[str, str], ...]
    built_from: tuple[tuple[str, int], ...]
    # The status line and headers as the response left the app (security headers and all),
    # for fedipanel/web/cached_answers.py; None until that response was seen.
    final: tuple[str, list[tuple[str, str]]] | None = None

    def current(self, versions: dict[str, int]) -> bool:
        """Tell whether every table the page was built from is unchanged."""
        return all(versions.get(name, 0) == version for name, version in self.built_from)


class PageCache:
    """One process's pages, bounded by size; safe to share between threads."""

    def __init__(self, seconds: float, max_bytes: int) -> None:
        self.seconds = seconds
        self.max_bytes = max_bytes
        self.size = 0
        self.hits = 0
        self._entries: OrderedDict[tuple[Any, ...], Entry] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[Any, ...]) -> Entry | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                self._entries.move_to_end(key)
            return entry

    def put(self, key: tuple[Any, ...], entry: Entry) -> None:
        if len(entry.body) > self.max_bytes // 4:
            return
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self.size -= len(old.body)
            self._entries[key] = entry
            self.size += len(entry.body)
            while self.size > self.max_bytes:
                _key, dropped = self._entries.popitem(last=False)
                self.size -= len(dropped.body)

    def set_final(self, key: tuple[Any, ...], status: str, headers: list[tuple[str, str]]) -> None:
        """Record how the kept response under `key` left the app."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None and status.startswith(f"{entry.status} "):
                entry.final = (status, list(headers))

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self.size = 0


def init_page_cache(app: Flask) -> None:
    """Keep pages for PAGE_CACHE_SECONDS (0 turns the cache off)."""
    seconds = float(app.config["PAGE_CACHE_SECONDS"])
    megabytes = float(app.config["PAGE_CACHE_MEGABYTES"])
    if seconds > 0 and megabytes > 0:
        app.extensions[EXTENSION] = PageCache(seconds, int(megabytes * 1024 * 1024))


def cached_page(view: F) -> F:
    """Serve the view's page from the cache while what it read is unchanged.

    Goes below the login and role checks, which run on every request. Only plain GETs of a
    page without messages waiting in the session are served or kept. The view may read the
    database, the clock, the settings and the request's path, query, HX-Request header, language
    and time zone: nothing else of the request.
    """

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        cache: PageCache | None = current_app.extensions.get(EXTENSION)
        if cache is None or request.method != "GET" or "_flashes" in session:
            return view(*args, **kwargs)
        versions = request_versions()
        if versions is None:
            return view(*args, **kwargs)
        key = _key(cache.seconds)
        entry = cache.get(key)
        if entry is not None and entry.current(versions):
            cache.hits += 1
            return Response(entry.body, status=entry.status, headers=list(entry.headers))
        with recording() as tables:
            response = make_response(view(*args, **kwargs))
        if _keepable(response):
            built_from = tuple(sorted((name, versions.get(name, 0)) for name in tables))
            headers = tuple((k, v) for k, v in response.headers.items() if k != "Content-Length")
            cache.put(key, Entry(response.get_data(), response.status_code, headers, built_from))
            request.environ[KEPT_KEY] = key
        return response

    return cast(F, wrapped)


def keep_out() -> None:
    """Do not keep this response: it shows more than the database (e.g. whether a worker runs)."""
    setattr(g, _NOT_KEPT, True)


def _key(seconds: float) -> tuple[Any, ...]:
    user = current_user._get_current_object()  # read only: not put in the database session
    fields = tuple(getattr(user, name) for name in USER_FIELDS)
    return key_for(request.environ, request.cookies, fields, session.get("csrf_token"), seconds)


def key_for(
    environ: dict[str, Any],
    cookies: Mapping[str, str],
    user_fields: tuple[Any, ...],
    csrf_token: str | None,
    seconds: float,
) -> tuple[Any, ...]:
    """Return the key of a page: from the WSGI environ, so a layer before Flask finds it too."""
    return (
        environ.get("PATH_INFO"),
        environ.get("QUERY_STRING"),
        environ.get("HTTP_HOST"),
        environ.get("wsgi.url_scheme"),
        environ.get("HTTP_HX_REQUEST"),
        # The user's own fields a page may show (navigation, their language and time zone).
        user_fields,
        # What chooses the language and time zone when the user has not (fedipanel/web/i18n.py).
        environ.get("HTTP_ACCEPT_LANGUAGE"),
        cookies.get(TIME_ZONE_COOKIE),
        csrf_token,
        # Clock-dependent parts: the same boundaries in every process.
        int(time.time() // seconds),
    )


def _keepable(response: Response) -> bool:
    """Tell whether the response may be served again: a plain answer that changed no session."""
    return (
        response.status_code in KEPT_STATUSES
        and not g.get(_NOT_KEPT)
        and not response.is_streamed
        and not session.modified
        and "Set-Cookie" not in response.headers
        and "no-store" not in (response.headers.get("Cache-Control") or "")
    )
