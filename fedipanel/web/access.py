"""Who may see what: login and role checks for pages."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

from flask import Flask, abort, current_app, g
from flask_babel import gettext
from flask_login import current_user, login_required
from sqlalchemy import bindparam, inspect, select
from sqlalchemy.orm import make_transient_to_detached

from fedipanel.accounts.models import User
from fedipanel.core.text import N_
from fedipanel.db import db
from fedipanel.web.extensions import login_manager
from fedipanel.web.versions import request_versions

F = TypeVar("F", bound=Callable[..., Any])
# Built once: every page and poll of a logged-in user runs it.
_SESSION_USER = select(*User.__table__.columns).where(User.id == bindparam("user_id"))
# The user's own fields a page may show (navigation, language).
USER_FIELDS = ("id", "email", "role", "slug", "session_version", "language", "time_zone")
_KEEP_USERS = 10_000
_KEPT = "fedipanel.session_rows"
_kept_lock = threading.Lock()


@login_manager.user_loader
def _load_user(session_id: str) -> User | None:
    # "<id>:<session version>"; sessions from before versions existed carry the id alone.
    user_id, _, version = session_id.partition(":")
    if not user_id.isdigit() or not (version or "0").isdigit():
        return None
    row = _session_row(int(user_id))
    if row is None or not session_user_allowed(row, version):
        return None
    # This request's own User, detached: `current_account()` puts it in the database session
    # when a view needs one, so a page served from the cache never opens that session.
    user = User(**row)
    make_transient_to_detached(user)
    return user


def _session_row(user_id: int) -> dict[str, Any] | None:
    """Return the user's row, read again only once the users table was written since.

    Also read again every PAGE_CACHE_SECONDS, as the pages' cache is (0: at every request).
    """
    versions = request_versions() if float(current_app.config["PAGE_CACHE_SECONDS"]) > 0 else None
    kept = kept_row(current_app, user_id, versions)
    if kept is not None:
        return kept
    # Read without the ORM's slower load; the User is built from the row.
    found = db.session.connection().execute(_SESSION_USER, {"user_id": user_id}).first()
    if found is None:
        return None
    row = found._asdict()
    stamp = _stamp(current_app, versions)
    if stamp is not None:
        kept_rows: dict[int, tuple[tuple[int, int], dict[str, Any]]]
        kept_rows = current_app.extensions.setdefault(_KEPT, {})  # one app, one database
        with _kept_lock:
            if len(kept_rows) >= _KEEP_USERS:
                kept_rows.clear()
            kept_rows[user_id] = (stamp, row)
    return row


def kept_row(app: Flask, user_id: int, versions: dict[str, int] | None) -> dict[str, Any] | None:
    """Return the user's row as read before, if the users table was not written since."""
    stamp = _stamp(app, versions)
    kept = app.extensions.get(_KEPT, {}).get(user_id)
    if stamp is None or kept is None or kept[0] != stamp:
        return None
    row: dict[str, Any] = kept[1]
    return row


def _stamp(app: Flask, versions: dict[str, int] | None) -> tuple[int, int] | None:
    """Return what a kept row must match: the users table's version and the clock's period."""
    seconds = float(app.config["PAGE_CACHE_SECONDS"])
    if seconds <= 0 or versions is None:
        return None
    return versions.get("users", 0), int(time.time() // seconds)


def session_user_allowed(row: dict[str, Any], version: str) -> bool:
    """Tell whether a session of this version may act as the user of this row."""
    if row["session_version"] != int(version or "0"):
        return False  # the account ended its sessions (disabled, new password)
    return row["disabled_at"] is None  # a disabled account's open sessions end with it


def _role_required(role_check: str, message: str) -> Callable[[F], F]:
    def decorator(view: F) -> F:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if not getattr(current_user, role_check):
                abort(403, gettext(message))
            return view(*args, **kwargs)

        return cast(F, login_required(wrapped))

    return decorator


operator_required = _role_required("is_operator", N_("This page is for operator accounts."))
provider_required = _role_required(
    "is_provider", N_("This page is for the provider's administrators.")
)


def current_account() -> User:
    """Return the logged-in user, in this request's database session."""
    user = cast(User, current_user._get_current_object())
    if inspect(user).detached:
        user = db.session.merge(user, load=False)
        g._login_user = user  # Flask-Login's user of this request: `current_user` is now this one
    return user
