"""Calls to Garage's admin API v2: authentication, errors, and retries that never create twice.

Reads and calls that set a state are tried again plainly after a transient failure. A call
that creates something is not: after a failure that may have come after Garage did the work
(no answer, a reset connection, a 5xx), the caller's `find` looks for what it would have made,
and only when nothing is there is it asked for again.
"""

from __future__ import annotations

import http.client
import json
import logging
import ssl
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)


class GarageError(Exception):
    """Garage refused or could not be reached; the message says which and why."""

    def __init__(
        self,
        message: str,
        status: int | None = None,
        code: str | None = None,
        *,
        transient: bool = False,
        ambiguous: bool = False,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.transient = transient  # trying again later may work
        self.ambiguous = ambiguous  # the request may have been carried out all the same


@dataclass(frozen=True)
class Retry:
    """How often and how patiently transient failures are tried again."""

    attempts: int = 5
    backoff: float = 1.0  # seconds before the second attempt; doubles each time
    max_backoff: float = 30.0
    timeout: float = 10.0  # seconds one request may take


class Transport:
    """Authenticated JSON calls to one admin API, with retries that never create twice."""

    def __init__(
        self,
        url: str,
        token: str,
        retry: Retry | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.url = url.rstrip("/")
        self._token = token
        self.retry = retry or Retry()
        self._sleep = sleep

    def __repr__(self) -> str:  # never show the token
        return f"GarageAdmin({self.url!r})"

    # -- plumbing ---------------------------------------------------------------------------

    def _call(
        self,
        method: str,
        operation: str,
        query: dict[str, str] | None = None,
        body: dict[str, Any] | None = None,
    ) -> Any:
        """Call an operation, trying again after a transient failure (not for creations)."""
        delay = self.retry.backoff
        for attempt in range(1, self.retry.attempts + 1):
            try:
                return self._once(method, operation, query, body)
            except GarageError as exc:
                if not exc.transient or attempt == self.retry.attempts:
                    raise
                log.warning("Garage %s failed (%s); trying again in %.1fs", operation, exc, delay)
            self._sleep(delay)
            delay = min(delay * 2, self.retry.max_backoff)
        raise AssertionError("unreachable")  # pragma: no cover

    def _create(self, operation: str, body: dict[str, Any], find: Callable[[], Any]) -> Any:
        """Call a creating operation; after an ambiguous failure, look before asking again."""
        delay = self.retry.backoff
        for attempt in range(1, self.retry.attempts + 1):
            try:
                return self._once("POST", operation, None, body)
            except GarageError as exc:
                if not exc.transient or attempt == self.retry.attempts:
                    raise
                if exc.ambiguous:
                    found = find()
                    if found is not None:
                        log.warning("Garage %s: %s, but it was done: continuing", operation, exc)
                        return found
                log.warning("Garage %s failed (%s); trying again in %.1fs", operation, exc, delay)
            self._sleep(delay)
            delay = min(delay * 2, self.retry.max_backoff)
        raise AssertionError("unreachable")  # pragma: no cover

    def _once(
        self,
        method: str,
        operation: str,
        query: dict[str, str] | None,
        body: dict[str, Any] | None,
    ) -> Any:
        url = f"{self.url}/v2/{operation}"
        if query:
            url += "?" + urllib.parse.urlencode(query)
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(url, data=data, method=method)  # noqa: S310 - http(s) URL from settings
        request.add_header("Authorization", f"Bearer {self._token}")
        request.add_header("Accept", "application/json")
        if data is not None:
            request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=self.retry.timeout) as response:  # noqa: S310
                raw = response.read()
        except urllib.error.HTTPError as exc:
            raise self._http_error(operation, exc) from None
        except urllib.error.URLError as exc:
            # Raised while connecting or sending: only a refused connection surely did nothing.
            refused = isinstance(exc.reason, ConnectionRefusedError)
            tls = isinstance(exc.reason, ssl.SSLError)
            raise GarageError(
                _unreachable(self.url, exc.reason), transient=not tls, ambiguous=not refused
            ) from None
        except ssl.SSLError as exc:
            raise GarageError(_unreachable(self.url, exc)) from None
        except (OSError, http.client.HTTPException) as exc:
            # The request went out; the answer was lost or late.
            raise GarageError(
                f"Garage admin API at {self.url} gave no answer to {operation} "
                f"({type(exc).__name__}: {exc or 'connection closed'})",
                transient=True,
                ambiguous=True,
            ) from None
        if not raw:
            return None
        try:
            return json.loads(raw)
        except ValueError:
            raise GarageError(
                f"Garage admin API at {self.url} answered {operation} with something that is "
                "not JSON: is this the admin port (3903), not the S3 port?"
            ) from None

    def _http_error(self, operation: str, exc: urllib.error.HTTPError) -> GarageError:
        code = message = None
        try:
            payload = json.loads(exc.read() or b"{}")
            if isinstance(payload, dict):
                code, message = payload.get("code"), payload.get("message")
        except ValueError:
            pass
        if exc.code in (401, 403):
            text = (
                f"Garage admin API at {self.url} refused the admin token ({exc.code}): "
                "check FEDIPANEL_GARAGE_ADMIN_TOKEN"
            )
        else:
            text = f"Garage refused {operation} ({exc.code}{f' {code}' if code else ''})"
            if message:
                text += f": {message}"
        # Garage's own 500 and a gateway's 502/503/504: the work may or may not have been done.
        server = exc.code >= 500
        return GarageError(text, exc.code, code, transient=server, ambiguous=server)


def _unreachable(url: str, reason: object) -> str:
    if isinstance(reason, ssl.SSLError):
        return f"Garage admin API at {url}: TLS failed ({reason}); check the URL's scheme"
    return f"Garage admin API at {url} is unreachable ({reason})"
