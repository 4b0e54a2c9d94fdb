"""A thin proxmoxer wrapper: token auth, form values Proxmox accepts, tasks, retries, errors.

Reads and calls that set a state (config, resize, start, stop, delete) are tried again plainly
after a transient failure. A call that creates something (`create`) is never tried again
blindly after a failure that may have come after Proxmox did the work (a time-out, a reset
connection, a gateway's 502/503/504): it raises a ProxmoxError marked `ambiguous`, and the
caller looks for what it may have created before asking again.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests
import urllib3
from proxmoxer import ProxmoxAPI, ResourceException

log = logging.getLogger(__name__)

# Proxmox answers 500 for a handler failure; these ones go away when tried again later.
_TRANSIENT = re.compile(
    r"got timeout|timeout|is locked|lock.*(?:timeout|failed)|temporar|try again|unavailable",
    re.IGNORECASE,
)
# ...and these never do: reading again will not make them exist.
_PERMANENT = re.compile(r"does not exist|already exists|not supported|permission", re.IGNORECASE)


class ProxmoxError(Exception):
    """Proxmox refused or failed; the message is Proxmox's own, for the provider and operator."""

    def __init__(self, message: str, status: int | None = None, *, ambiguous: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        # The request may have been carried out although no answer said so.
        self.ambiguous = ambiguous


@dataclass(frozen=True)
class Connection:
    """Where and how to reach the Proxmox API."""

    url: str
    token_id: str  # user@realm!tokenid
    token_secret: str
    verify: bool | str = True  # False, True or the path of a CA bundle
    timeout: float = 30.0

    def __repr__(self) -> str:  # never show the secret, not even in a traceback
        return f"Connection(url={self.url!r}, token_id={self.token_id!r}, verify={self.verify!r})"


def parse_verify(value: str | None) -> bool | str:
    """Turn FEDIPANEL_PROXMOX_VERIFY (`true`, `false` or a CA bundle's path) into requests' form."""
    text = (value or "true").strip()
    if text.lower() in {"1", "true", "yes", "on", ""}:
        return True
    if text.lower() in {"0", "false", "no", "off"}:
        return False
    return text


def form(values: Mapping[str, Any]) -> dict[str, str]:
    """Return form values as Proxmox accepts them: booleans as 1/0, nothing left as None."""
    out: dict[str, str] = {}
    for key, value in values.items():
        if value is None:
            continue
        if isinstance(value, bool):
            out[key] = "1" if value else "0"
        else:
            out[key] = str(value)
    return out


@dataclass
class Retry:
    """How often and how patiently transient failures are tried again."""

    attempts: int = 5
    backoff: float = 1.0  # seconds before the second attempt; doubles each time
    max_backoff: float = 30.0
    task_poll: float = 1.0
    task_timeout: float = 900.0
    timeout: float | None = None  # seconds one request may take (None: the connection's)


class Client:
    """Calls the Proxmox API with retries; every error becomes a ProxmoxError."""

    def __init__(
        self,
        connection: Connection,
        retry: Retry | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        parts = urlsplit(connection.url)
        if parts.scheme != "https" or not parts.hostname:
            raise ProxmoxError("the Proxmox URL must look like https://host:8006")
        user, sep, token_name = connection.token_id.partition("!")
        if not sep or "@" not in user or not token_name:
            raise ProxmoxError("the token ID must look like user@realm!tokenid")
        self.retry = retry or Retry()
        self._sleep = sleep
        self._api = ProxmoxAPI(
            parts.hostname,
            port=parts.port or 8006,
            user=user,
            token_name=token_name,
            token_value=connection.token_secret,
            verify_ssl=connection.verify,
            timeout=self.retry.timeout or connection.timeout,
            backend="https",
        )

    # -- plain calls ---------------------------------------------------------------------------

    def get(self, path: str, **params: Any) -> Any:
        """GET a path below /api2/json (query parameters as Proxmox accepts them)."""
        return self._call("GET", path, form(params))

    def post(self, path: str, **data: Any) -> Any:
        """POST form values to a path."""
        return self._call("POST", path, form(data))

    def put(self, path: str, **data: Any) -> Any:
        """PUT form values to a path."""
        return self._call("PUT", path, form(data))

    def delete(self, path: str, **params: Any) -> Any:
        """DELETE a path with query parameters."""
        return self._call("DELETE", path, form(params))

    def create(self, path: str, **data: Any) -> Any:
        """POST a call that creates something; an ambiguous failure is raised, not retried."""
        return self._call("POST", path, form(data), creates=True)

    def pause(self, seconds: float) -> None:
        """Wait between two tries (tests make this instant)."""
        self._sleep(seconds)

    def _call(self, method: str, path: str, values: dict[str, str], creates: bool = False) -> Any:
        resource = self._api(path.strip("/"))
        delay = self.retry.backoff
        for attempt in range(1, self.retry.attempts + 1):
            try:
                if method == "GET":
                    return resource.get(**values)
                if method == "DELETE":
                    return resource.delete(**values)
                if method == "POST":
                    return resource.post(**values)
                return resource.put(**values)
            except ResourceException as exc:
                error = _error(exc)
                transient = error.ambiguous or (
                    exc.status_code >= 500
                    and not _PERMANENT.search(error.message)
                    and (method == "GET" or _TRANSIENT.search(error.message) is not None)
                )
                if not transient or attempt == self.retry.attempts or (creates and error.ambiguous):
                    raise error from None
            except requests.exceptions.SSLError as exc:
                raise ProxmoxError(f"TLS failure talking to Proxmox: {_reason(exc)}") from None
            except requests.exceptions.RequestException as exc:
                sent = not _never_sent(exc)
                error = ProxmoxError(
                    f"{'no answer from' if sent else 'cannot reach'} Proxmox: {_reason(exc)}",
                    ambiguous=sent,
                )
                if attempt == self.retry.attempts or (creates and sent):
                    raise error from None
            log.warning(
                "Proxmox %s %s failed (%s); trying again in %.1fs",
                method,
                path,
                error.message,
                delay,
            )
            self._sleep(delay)
            delay = min(delay * 2, self.retry.max_backoff)
        raise AssertionError("unreachable")  # pragma: no cover

    # -- tasks ---------------------------------------------------------------------------------

    def wait(self, node: str, upid: Any, what: str) -> None:
        """Wait for an asynchronous task; raise ProxmoxError with its exit status if it failed."""
        if not upid:  # some calls finish at once and return null
            return
        deadline = time.monotonic() + self.retry.task_timeout
        poll = self.retry.task_poll
        while True:
            status = self.get(f"nodes/{node}/tasks/{upid}/status")
            if status.get("status") == "stopped":
                exit_status = str(status.get("exitstatus") or "")
                if exit_status == "OK" or exit_status.startswith("WARNINGS"):
                    return
                raise ProxmoxError(f"{what} failed: {exit_status or 'unknown error'}")
            if time.monotonic() > deadline:
                raise ProxmoxError(f"{what} did not finish in {self.retry.task_timeout:.0f}s")
            self._sleep(poll)
            poll = min(poll * 1.5, 5.0)

    def run(
        self,
        node: str,
        what: str,
        start: Callable[[], Any],
        done: Callable[[], bool] | None = None,
    ) -> None:
        """Start a task and wait for it; a task that failed on a lock time-out is run again.

        `done` tells whether the wanted state holds anyway: a call retried after its answer was
        lost may start a second task that fails ("already running", "does not exist") because
        the first one did the work.
        """
        delay = self.retry.backoff
        for attempt in range(1, self.retry.attempts + 1):
            try:
                self.wait(node, start(), what)
                return
            except ProxmoxError as exc:
                if done is not None and done():
                    log.info("%s: done after all (%s)", what, exc.message)
                    return
                retry = exc.ambiguous or _TRANSIENT.search(exc.message) is not None
                if attempt == self.retry.attempts or not retry:
                    raise
                log.warning("%s; trying again in %.1fs", exc.message, delay)
            self._sleep(delay)
            delay = min(delay * 2, self.retry.max_backoff)


def _error(exc: ResourceException) -> ProxmoxError:
    if exc.status_code in _GATEWAY:
        # A proxy's answer: the request may or may not have reached Proxmox.
        return ProxmoxError(
            f"Proxmox answered {exc.status_code} {_GATEWAY[exc.status_code]}",
            exc.status_code,
            ambiguous=True,
        )
    # Proxmox puts its message in the HTTP reason phrase and parameter errors in `errors`.
    text = str(exc.content or exc.status_message or "").strip()
    if exc.errors:
        details = exc.errors
        if isinstance(details, Mapping):
            details = "; ".join(f"{k}: {str(v).strip()}" for k, v in details.items())
        text = f"{text} ({details})"
    if exc.status_code == 401:
        text = f"the API token was refused ({text or 'authentication failure'})"
    elif exc.status_code == 403:
        text = f"the API token lacks a permission ({text})"
    return ProxmoxError(text, exc.status_code)


_GATEWAY = {502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout"}


def _never_sent(exc: requests.exceptions.RequestException) -> bool:
    """Tell whether the request certainly never reached the server (no connection was made)."""
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return True
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    return isinstance(reason, urllib3.exceptions.NewConnectionError)


def _reason(exc: Exception) -> str:
    # requests nests the interesting part (certificate verify failed, connection refused) deep.
    text = str(exc)
    found = re.search(r"\[SSL[^\]]*\][^')\"(]*|Connection refused|Name or service not known", text)
    return found.group(0).strip() if found else text
