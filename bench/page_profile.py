"""Where a page's time goes, in-process: time per request, SQL statements and time in SQL.

Runs each page through Flask's test client (no HTTP, no sockets), so what is left after SQL is
the panel's own Python: routing, the session and login, the view and its templates.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

BATCH = 50
BATCHES = 5
WARMUP = 20


@dataclass
class Cost:
    """One page's cost per request, from its fastest batch."""

    ms: float
    queries: float
    sql_ms: float


def cost(app: Any, path: str, headers: dict[str, str], expect: int = 200) -> Cost:
    """Measure one page: the best of BATCHES batches of BATCH requests."""
    from sqlalchemy import event

    engine = None
    counted = {"n": 0, "seconds": 0.0}
    if "sqlalchemy" in app.extensions:
        with app.app_context():
            engine = app.extensions["sqlalchemy"].engine

    def before(conn: Any, *_args: Any) -> None:
        conn.info["fedipanel.bench.t0"] = time.perf_counter()

    def after(conn: Any, *_args: Any) -> None:
        counted["n"] += 1
        counted["seconds"] += time.perf_counter() - conn.info.pop("fedipanel.bench.t0")

    client = app.test_client()
    headers = dict(headers)
    # The test client sends its own cookie jar, not a Cookie header: hand the session over.
    for pair in filter(None, headers.pop("Cookie", "").split(";")):
        name, _, value = pair.strip().partition("=")
        client.set_cookie(name, value)
    for _ in range(WARMUP):
        _get(client, path, headers, expect)
    if engine is not None:
        event.listen(engine, "before_cursor_execute", before)
        event.listen(engine, "after_cursor_execute", after)
    best: Cost | None = None
    try:
        for _ in range(BATCHES):
            counted.update(n=0, seconds=0.0)
            start = time.perf_counter()
            for _ in range(BATCH):
                _get(client, path, headers, expect)
            ms = (time.perf_counter() - start) * 1000 / BATCH
            batch = Cost(ms, counted["n"] / BATCH, counted["seconds"] * 1000 / BATCH)
            if best is None or batch.ms < best.ms:
                best = batch
    finally:
        if engine is not None:
            event.remove(engine, "before_cursor_execute", before)
            event.remove(engine, "after_cursor_execute", after)
    assert best is not None
    return best


def _get(client: Any, path: str, headers: dict[str, str], expect: int) -> None:
    response = client.get(path, headers=headers)
    if response.status_code != expect:
        raise RuntimeError(f"GET {path} answered {response.status_code}, not {expect}")


def report(bare: Cost, rows: list[tuple[str, Cost]]) -> None:
    """Print the table: each page against the bare app's time per request."""
    print(
        f"**Where the time goes** (in-process, Flask's test client, best of {BATCHES} batches "
        f"of {BATCH}): what a page costs beyond SQL is the panel's own Python (routing, "
        "session and login, the view, its templates). A page from the cache runs no statement "
        "through SQLAlchemy: one read of the tables' versions goes straight to the database "
        "driver, and the user's row is read again only after the users table was written."
    )
    print()
    print("| page | ms per request | x bare | SQL statements | ms in SQL | ms besides SQL |")
    print("|---|---|---|---|---|---|")
    print(f"| bare Flask endpoint | {bare.ms:.2f} | 1.0 | 0 | 0 | {bare.ms:.2f} |")
    for label, row in rows:
        print(
            f"| {label} | {row.ms:.2f} | {row.ms / bare.ms:.1f} | {row.queries:.0f} | "
            f"{row.sql_ms:.2f} | {row.ms - row.sql_ms:.2f} |"
        )
    print(flush=True)
