"""Who may see what: login and role checks for pages."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

from flask import abort, current_app
from flask_babel import gettext
from flask_login import current_user, login_required
from sqlalchemy import bindparam, select
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
_KEPT = "fedipanel.session_users"
_kept_lock = threading.Lock()


@login_manager.user_loader
def _load_user(session_id: str) -> User | None:
    # "<id>:<session version>"; sessions from before versions existed carry the id alone.
    user_id, _, version = session_id.partition(":")
    if not user_id.isdigit() or not (version or "0").isdigit():
        return None
    found = _session_user(int(user_id))
    if found is None or found.session_version != int(version or "0"):
        return None  # the account ended its sessions (disabled, new password)
    if found.disabled_at is not None:
        return None  # a disabled account's open sessions end with it
    # A copy in this request's session; the one kept is never changed.
    return db.session.merge(found, load=False)


def _session_user(user_id: int) -> User | None:
    """Return the user, detached, read again only once the users table was written since.

    Also read again every PAGE_CACHE_SECONDS, as the pages' cache is (0: at every request).
    """
    seconds = float(current_app.config["PAGE_CACHE_SECONDS"])
    versions = request_versions() if seconds > 0 else None
    stamp = (versions.get("users", 0), int(time.time() // seconds)) if versions else None
    kept_users: dict[int, tuple[tuple[int, int], User]]
    kept_users = current_app.extensions.setdefault(_KEPT, {})  # one app, one database
    kept = kept_users.get(user_id)
    if stamp is not None and kept is not None and kept[0] == stamp:
        return kept[1]
    row = db.session.connection().execute(_SESSION_USER, {"user_id": user_id}).first()
    if row is None:
        return None
    # The row read above as a User, without the ORM's slower load.
    user = User(**row._asdict())
    make_transient_to_detached(user)
    if stamp is not None:
        with _kept_lock:
            if len(kept_users) >= _KEEP_USERS:
                kept_users.clear()
            kept_users[user_id] = (stamp, user)
    return user


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
    """Return the logged-in user as a `User` (for the type checker)."""
    return cast(User, current_user._get_current_object())
