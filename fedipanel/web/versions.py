"""The tables' versions as this request found them, read once (see fedipanel/data_versions.py)."""

from __future__ import annotations

import time

from flask import current_app, g
from sqlalchemy import inspect
from sqlalchemy.exc import SQLAlchemyError

from fedipanel.data_versions import TABLE
from fedipanel.db import db

RECHECK_TABLE = 30.0  # seconds before asking again whether the versions table exists
_READ = "fedipanel_versions"
_SQL = f"SELECT name, version FROM {TABLE}"  # noqa: S608 (a constant)


def request_versions() -> dict[str, int] | None:
    """Return every table's version, read at the first call in this request.

    None while the database has no versions table yet (not migrated): nothing may then be
    served from what an earlier request read.
    """
    if _READ not in g:
        setattr(g, _READ, _read() if _table_exists() else None)
    versions: dict[str, int] | None = getattr(g, _READ)
    return versions


def _read() -> dict[str, int] | None:
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


def _table_exists() -> bool:
    state = current_app.extensions.setdefault(
        "fedipanel.versions_table", {"seen": False, "at": -RECHECK_TABLE}
    )
    if not state["seen"] and time.monotonic() - state["at"] >= RECHECK_TABLE:
        state["at"] = time.monotonic()
        state["seen"] = inspect(db.engine).has_table(TABLE)
    return bool(state["seen"])
