"""The Flask extensions, created once and bound to the app in `init_app`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase


class Base(DeclarativeBase):
    pass


db = SQLAlchemy(model_class=Base)
migrate = Migrate(directory=str(Path(__file__).parent / "migrations"))
login_manager = LoginManager()
csrf = CSRFProtect()


def init_app(app: Flask) -> None:
    """Bind every extension to `app`."""
    options: dict[str, Any] = {}
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        # The web thread, the embedded worker and log writers share one file.
        options["connect_args"] = {"timeout": 30, "check_same_thread": False}
    else:
        # A database server (PostgreSQL) may close idle connections (restart, proxy timeout):
        # check each pooled connection before use and replace a dead one.
        options["pool_pre_ping"] = True
    app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", options)
    db.init_app(app)
    migrate.init_app(app, db, render_as_batch=True)
    login_manager.init_app(app)
    login_manager.login_view = "accounts.login"
    login_manager.login_message = "Please log in to continue."
    csrf.init_app(app)


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
