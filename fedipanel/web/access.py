"""Who may see what: login and role checks for pages."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

from flask import abort
from flask_babel import gettext
from flask_login import current_user, login_required
from sqlalchemy import bindparam, select
from sqlalchemy.orm import make_transient_to_detached

from fedipanel.accounts.models import User
from fedipanel.core.text import N_
from fedipanel.db import db
from fedipanel.web.extensions import login_manager

F = TypeVar("F", bound=Callable[..., Any])
# Built once: every page and poll of a logged-in user runs it.
_SESSION_USER = select(*User.__table__.columns).where(User.id == bindparam("user_id"))


@login_manager.user_loader
def _load_user(session_id: str) -> User | None:
    # "<id>:<session version>"; sessions from before versions existed carry the id alone.
    user_id, _, version = session_id.partition(":")
    if not user_id.isdigit() or not (version or "0").isdigit():
        return None
    row = db.session.connection().execute(_SESSION_USER, {"user_id": int(user_id)}).first()
    if row is None or row.session_version != int(version or "0"):
        return None  # the account ended its sessions (disabled, new password)
    if row.disabled_at is not None:
        return None  # a disabled account's open sessions end with it
    # The row read above, as the session's own User (without the ORM's slower load).
    user = User(**row._asdict())
    make_transient_to_detached(user)
    return db.session.merge(user, load=False)


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
