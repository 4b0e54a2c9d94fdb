"""The tables' versions as this request found them, read once (see fedipanel/data_versions.py)."""

from __future__ import annotations

import sqlite3
import threading
import time
from functools import lru_cache

from flask import Flask, current_app, g
from sqlalchemy import inspect
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from fedipanel.data_versions import TABLE
from fedipanel.db import db

RECHECK_TABLE = 30.0  # seconds before asking again whether the versions table exists
_READ = "fedipanel_versions"
_TABLE_STATE = "fedipanel.versions_table"
_SQL = f"SELECT name, version FROM {TABLE}"  # noqa: S608 (a constant)
_IDLE_SQLITE = 8  # connections kept for this one read, to one SQLite file (the latest asked for)
_idle: dict[str, list[sqlite3.Connection]] = {}
_idle_lock = threading.Lock()


def request_versions() -> dict[str, int] | None:
    """Return every table's version, read at the first call in this request.

    None while the database has no versions table yet (not migrated): nothing may then be
    served from what an earlier request read.
    """
    if _READ not in g:
        setattr(g, _READ, _read() if _table_exists() else None)
    versions: dict[str, int] | None = getattr(g, _READ)
    return versions


def read_now(app: Flask) -> dict[str, int] | None:
    """Return every table's version now, outside any request (fedipanel/web/cached_answers.py)."""
    state = app.extensions.get(_TABLE_STATE)
    if state is None or not state["seen"]:
        return None  # a request has not found the table yet
    database = _sqlite_file(app)
    if database is not None:
        return _read_sqlite(database)
    with app.app_context():
        return _read()


def _sqlite_file(app: Flask) -> str | None:
    """Return the SQLite file the app uses, if it is one (not memory, not a URI)."""
    return _sqlite_file_of(app.config["SQLALCHEMY_DATABASE_URI"])


@lru_cache(maxsize=16)
def _sqlite_file_of(uri_text: str) -> str | None:
    # Parsed once per database address, not at every page.
    uri = make_url(uri_text)
    database = uri.database if uri.get_backend_name() == "sqlite" else None
    if database and database != ":memory:" and not database.startswith("file:"):
        return database
    return None


def _read() -> dict[str, int] | None:
    database = _sqlite_file(current_app)
    if database is not None:
        return _read_sqlite(database)
    # A pooled connection's DBAPI cursor, outside the request's session: two plain columns on
    # every page and poll, and a page served from the cache then needs no session at all.
    try:
        connection = db.engine.raw_connection()
    except SQLAlchemyError:
        return None
    try:
        cursor = connection.cursor()
        cursor.execute(_SQL)
        return {name: version for name, version in cursor.fetchall()}
    except db.engine.dialect.loaded_dbapi.Error:
        return None
    finally:
        connection.close()  # back to the pool, its transaction (PostgreSQL) rolled back


def _read_sqlite(database: str) -> dict[str, int] | None:
    """Read on a connection of its own to the file: no pool, no SQLAlchemy on the way."""
    with _idle_lock:
        if database not in _idle:  # another database (tests): let the old file's go
            for other in _idle.values():
                for each in other:
                    each.close()
            _idle.clear()
        idle = _idle.setdefault(database, [])
        connection = idle.pop() if idle else None
    try:
        if connection is None:
            # Only ever reads: in WAL mode a writer holding the lock does not block it.
            connection = sqlite3.connect(database, timeout=30, check_same_thread=False)
        versions = dict(connection.execute(_SQL).fetchall())
    except sqlite3.Error:
        if connection is not None:
            connection.close()
        return None
    with _idle_lock:
        if len(idle) < _IDLE_SQLITE and _idle.get(database) is idle:
            idle.append(connection)
            connection = None
    if connection is not None:
        connection.close()
    return versions


def _table_exists() -> bool:
    state = current_app.extensions.setdefault(_TABLE_STATE, {"seen": False, "at": -RECHECK_TABLE})
    if not state["seen"] and time.monotonic() - state["at"] >= RECHECK_TABLE:
        state["at"] = time.monotonic()
        state["seen"] = inspect(db.engine).has_table(TABLE)
    return bool(state["seen"])
