"""The database: one SQLAlchemy instance, its migrations, and SQLite's connection settings."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import MetaData, event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import DeclarativeBase

from fedipanel.instance_files import private_file

# Constraints and indexes get predictable names on every database, so a migration can name them.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


db = SQLAlchemy(model_class=Base)
migrate = Migrate(directory=str(Path(__file__).parent / "migrations"))


def init_db(app: Flask) -> None:
    """Bind the database and its migrations to `app`."""
    options: dict[str, Any] = {}
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        _private_sqlite_file(app.config["SQLALCHEMY_DATABASE_URI"])
        # The web thread, the embedded worker and log writers share one file.
        options["connect_args"] = {"timeout": 30, "check_same_thread": False}
    else:
        # A database server (PostgreSQL) may close idle connections (restart, proxy timeout):
        # check each pooled connection before use and replace a dead one.
        options["pool_pre_ping"] = True
    app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", options)
    db.init_app(app)
    migrate.init_app(app, db, render_as_batch=True)


def _private_sqlite_file(uri: str) -> None:
    """Create the SQLite file readable by its owner alone (SQLite's journals follow its mode)."""
    database = make_url(uri).database
    if database and database != ":memory:" and not database.startswith("file:"):
        path = Path(database)
        if path.parent.is_dir():
            private_file(path)


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    """Let readers and the writing worker proceed together on SQLite."""
    if type(dbapi_connection).__module__.startswith("sqlite3"):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        # WAL keeps the database consistent with NORMAL; FULL would fsync every log line.
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()
