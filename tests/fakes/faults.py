"""Transient faults for the fake servers, over their real sockets.

A seeded `Faults` decides for each request whether it fails and how:

- `502`, `503`: a gateway's answer; the request never reached the API.
- `reset`: the connection is reset (RST) before the API sees the request.
- `504`: the API did the work, then the gateway gave up waiting and answered 504.
- `lost`: the API did the work, then the connection was reset: the answer is lost.
- `slow`: the API did the work, but the answer comes after the client's time-out.

The last three are the ambiguous ones: a client that retries them blindly creates twice.
Scripted faults (`script`) hit the first request matching a pattern, for tests that need one
fault at one place.
"""

from __future__ import annotations

import contextlib
import random
import re
import socket
import struct
import threading
import time
from collections import Counter
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler

KINDS = ("502", "503", "reset", "504", "lost", "slow")
BEFORE = frozenset({"502", "503", "reset"})  # the request never reaches the API
AFTER = frozenset({"504", "lost", "slow"})  # the work is done, the answer is lost or late


class Faults:
    """Which requests fail, and a count of what was injected."""

    def __init__(
        self,
        rate: float = 0.0,
        seed: int = 0,
        slow: float = 1.0,
        kinds: tuple[str, ...] = KINDS,
        script: list[tuple[str, str]] | None = None,
    ) -> None:
        self.rate = rate
        self.slow = slow  # seconds a slow answer takes: more than the client waits
        self.kinds = kinds
        self.script = list(script or [])  # (regex on "METHOD path", kind), each used once
        self._random = random.Random(seed)  # noqa: S311 - a reproducible draw, not a secret
        self._lock = threading.Lock()
        self.requests = 0
        self.injected: Counter[str] = Counter()
        self.hits: list[tuple[str, str]] = []  # (request, kind)

    def draw(self, request: str) -> str | None:
        """Return the fault for this request ("METHOD path"), or None to serve it normally."""
        with self._lock:
            self.requests += 1
            kind = None
            for i, (pattern, scripted) in enumerate(self.script):
                if re.search(pattern, request):
                    del self.script[i]
                    kind = scripted
                    break
            if kind is None and self._random.random() < self.rate:
                kind = self._random.choice(self.kinds)
            if kind is not None:
                self.injected[kind] += 1
                self.hits.append((request, kind))
            return kind

    def summary(self) -> str:
        """Return the counts in one line, for the test's output."""
        kinds = ", ".join(f"{kind} {self.injected[kind]}" for kind in KINDS)
        return f"{self.requests} requests, {sum(self.injected.values())} faults ({kinds})"


def before(handler: BaseHTTPRequestHandler, kind: str) -> None:
    """Fail a request the API never saw."""
    if kind == "reset":
        reset(handler)
    else:
        gateway(handler, int(kind))


def after(
    handler: BaseHTTPRequestHandler, kind: str, delay: float, answer: Callable[[], None]
) -> None:
    """Lose or delay the answer to a request the API carried out."""
    if kind == "lost":
        reset(handler)
    elif kind == "504":
        gateway(handler, 504)
    else:
        time.sleep(delay)
        with contextlib.suppress(OSError):  # the client hung up long ago
            answer()
        handler.close_connection = True


def gateway(handler: BaseHTTPRequestHandler, status: int) -> None:
    """Answer as a reverse proxy does when the backend is down or too slow."""
    body = f"<html><body><h1>{status} gateway error</h1></body></html>".encode()
    handler.send_response(status)
    handler.send_header("Content-Type", "text/html")
    handler.send_header("Content-Length", str(len(body)))
    handler.send_header("Connection", "close")
    handler.end_headers()
    handler.wfile.write(body)
    handler.close_connection = True


def reset(handler: BaseHTTPRequestHandler) -> None:
    """Reset the connection (RST, no answer at all)."""
    connection = handler.connection
    with contextlib.suppress(OSError):
        connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        connection.close()
    handler.close_connection = True
