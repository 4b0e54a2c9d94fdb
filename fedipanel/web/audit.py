"""Audit entries for requests: the actor is the logged-in user or the token's, the address the
client's own (behind FEDIPANEL_TRUSTED_PROXIES reverse proxies)."""

from __future__ import annotations

from typing import Any

from flask import g, request
from flask_login import current_user

from fedipanel.accounts.models import User
from fedipanel.audit import log
from fedipanel.audit.log import Action
from fedipanel.web.access import current_account


def actor() -> User | None:
    """Return who makes this request: the API token's user, else the logged-in user."""
    user = g.get("api_user")
    if user is None and current_user.is_authenticated:
        user = current_account()
    return user if isinstance(user, User) else None


def audit(action: Action, *, operator_id: int | None = None, **details: Any) -> None:
    """Record that this request did `action` (to `operator_id`'s account, if any)."""
    _record(actor(), action, operator_id, details)


def audit_by(who: User, action: Action, *, operator_id: int | None = None, **details: Any) -> None:
    """Record `action` done by `who` rather than the logged-in user (a reset link's holder)."""
    _record(who, action, operator_id, details)


def _record(
    who: User | None, action: Action, operator_id: int | None, details: dict[str, Any]
) -> None:
    if operator_id is None and who is not None and who.is_operator:
        operator_id = who.id
    log.record(
        action,
        actor_id=who.id if who else None,
        actor_email=who.email if who else details.pop("email", None),
        operator_id=operator_id,
        address=request.remote_addr,
        **details,
    )
