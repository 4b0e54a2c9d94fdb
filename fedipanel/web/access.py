"""Who may see what: login and role checks for pages."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

from flask import abort
from flask_babel import gettext
from flask_login import current_user, login_required

from fedipanel.accounts.models import User
from fedipanel.core.text import N_
from fedipanel.db import db
from fedipanel.web.extensions import login_manager

F = TypeVar("F", bound=Callable[..., Any])


@login_manager.user_loader
def _load_user(session_id: str) -> User | None:
    # "<id>:<session version>"; sessions from before versions existed carry the id alone.
    user_id, _, version = session_id.partition(":")
    if not user_id.isdigit() or not (version or "0").isdigit():
        return None
    user = db.session.get(User, int(user_id))
    if user is None or user.session_version != int(version or "0"):
        return None  # the account ended its sessions (disabled, new password)
    # A disabled account's open sessions end with it.
    return user if user.is_active else None


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
