"""A version per table, raised by every transaction that writes to it, in every process.

Whatever runs SQL through SQLAlchemy (pages, workers, the command line, migrations) is watched:
a statement that is not a read marks the tables it names as written, and the commit raises
their versions in the same transaction, so a reader never sees new data under an old version.
While `recording()` is active, the tables a thread reads are collected: what a page was built
from, compared with the versions of a later request (fedipanel/web/page_cache.py).
"""

from __future__ import annotations

import contextlib
import re
import threading
from collections.abc import Iterator
from contextvars import ContextVar
from functools import lru_cache
from typing import Any

from sqlalchemy import BigInteger, String, event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Mapped, mapped_column

from fedipanel.db import db

TABLE = "data_versions"
_WRITTEN = "fedipanel.written_tables"
_READS: ContextVar[set[str] | None] = ContextVar("fedipanel_tables_read", default=None)
# Statements that only read or steer the transaction; anything else may write what it names.
_NOT_WRITES = ("SELECT", "PRAGMA", "BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE", "SET")
_WRITE_WORDS = re.compile(r"\b(INSERT|UPDATE|DELETE|REPLACE)\b", re.IGNORECASE)
_lock = threading.Lock()
_names: dict[str, Any] = {"count": -1, "pattern": None}


class DataVersion(db.Model):  # type: ignore[name-defined]
    """How often a table was written: compared, never shown."""

    __tablename__ = TABLE

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger)


@contextlib.contextmanager
def recording() -> Iterator[set[str]]:
    """Collect the tables this thread reads until the block ends."""
    tables: set[str] = set()
    token = _READS.set(tables)
    try:
        yield tables
    finally:
        _READS.reset(token)


def _pattern() -> re.Pattern[str] | None:
    """Return a pattern matching any of the panel's table names as a word."""
    tables = db.metadata.tables
    if _names["count"] != len(tables):
        with _lock:
            names = sorted((n for n in tables if n != TABLE), key=len, reverse=True)
            _names["pattern"] = re.compile(r"\b(" + "|".join(map(re.escape, names)) + r")\b")
            _names["count"] = len(tables)
            _tables_of.cache_clear()
    pattern: re.Pattern[str] | None = _names["pattern"]
    return pattern


@lru_cache(maxsize=4096)
def _tables_of(statement: str) -> tuple[bool, frozenset[str]]:
    """Return whether `statement` may write, and the panel's tables it names."""
    pattern = _names["pattern"]
    tables = frozenset(pattern.findall(statement)) if pattern is not None else frozenset()
    head = statement.lstrip().split(None, 1)[0].upper() if statement.strip() else ""
    if head == "WITH":
        return bool(_WRITE_WORDS.search(statement)), tables
    return head not in _NOT_WRITES, tables


@event.listens_for(Engine, "before_cursor_execute")
def _watch(conn: Connection, _cursor: Any, statement: str, *_args: Any) -> None:
    if _pattern() is None:
        return
    writes, tables = _tables_of(statement)
    if writes:
        if tables:
            conn.info.setdefault(_WRITTEN, set()).update(tables)
        return
    reads = _READS.get()
    if reads is not None:
        reads.update(tables)


@event.listens_for(Engine, "commit")
def _raise_versions(conn: Connection) -> None:
    written = conn.info.pop(_WRITTEN, None)
    if written:
        _bump(conn, sorted(written))


@event.listens_for(Engine, "rollback")
def _forget_writes(conn: Connection) -> None:
    conn.info.pop(_WRITTEN, None)


def _bump(conn: Connection, tables: list[str]) -> None:
    """Raise the versions inside the committing transaction, on its own DBAPI cursor.

    Sorted names take the rows' locks in one order, so two committing transactions cannot
    deadlock on them. Before the table exists (a database being migrated), nothing is raised.
    """
    marker = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    upsert = (
        f"INSERT INTO {TABLE} (name, version) VALUES ({marker}, 1) "  # noqa: S608 (constant)
        f"ON CONFLICT (name) DO UPDATE SET version = {TABLE}.version + 1"
    )
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        if not _has_table(conn, cursor):
            return
        cursor.executemany(upsert, [(name,) for name in tables])
    finally:
        cursor.close()


def _has_table(conn: Connection, cursor: Any) -> bool:
    # Asked at every writing commit: tests and migrations drop and create tables as they go.
    if conn.dialect.name == "sqlite":
        cursor.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (TABLE,))
    else:
        cursor.execute("SELECT to_regclass(%s)", (TABLE,))
    row = cursor.fetchone()
    return bool(row and row[0])
