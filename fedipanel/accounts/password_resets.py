"""One-time links with which an operator sets a new password; only their hashes are stored."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from sqlalchemy import select, update

from fedipanel.accounts.models import PasswordReset, User
from fedipanel.accounts.operators import end_sessions
from fedipanel.accounts.users import AccountError, hash_password, password_problem
from fedipanel.db import db
from fedipanel.timeutil import utcnow

LIFETIME = timedelta(hours=1)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _end_open_links(user_id: int) -> None:
    db.session.execute(
        update(PasswordReset)
        .where(PasswordReset.user_id == user_id, PasswordReset.ended_at.is_(None))
        .values(ended_at=utcnow())
    )


def issue(user: User, by: User | None) -> tuple[str, PasswordReset]:
    """Create a reset link's token for `user` (ending earlier links); return it and its row."""
    _end_open_links(user.id)
    token = secrets.token_urlsafe(32)
    row = PasswordReset(
        user_id=user.id,
        token_hash=_hash(token),
        created_by_id=by.id if by else None,
        expires_at=utcnow() + LIFETIME,
    )
    db.session.add(row)
    db.session.commit()
    return token, row


def open_link(user_id: int) -> PasswordReset | None:
    """Return the user's link that can still be used, if any."""
    return db.session.scalar(
        select(PasswordReset).where(
            PasswordReset.user_id == user_id,
            PasswordReset.ended_at.is_(None),
            PasswordReset.expires_at > utcnow(),
        )
    )


def find(token: str) -> PasswordReset | None:
    """Return the reset a token belongs to while it can be used (unused, unexpired)."""
    row = db.session.scalar(select(PasswordReset).where(PasswordReset.token_hash == _hash(token)))
    if row is None or row.ended_at is not None or row.expires_at <= utcnow():
        return None
    return row


def complete(reset: PasswordReset, password: str, repeated: str) -> User:
    """Set the new password, end the link and every open session of the account."""
    weak = password_problem(password)
    if weak:
        raise AccountError("password", weak)
    if password != repeated:
        raise AccountError("repeat", "the two passwords differ")
    # Claimed with one conditional update: of two uses at once, only one wins.
    claimed = db.session.execute(
        update(PasswordReset)
        .where(PasswordReset.id == reset.id, PasswordReset.ended_at.is_(None))
        .values(ended_at=utcnow())
    )
    user = db.session.get(User, reset.user_id)
    if claimed.rowcount != 1 or user is None:  # type: ignore[attr-defined]
        db.session.rollback()
        raise AccountError("link", "this link has been used or replaced")
    user.password_hash = hash_password(password)
    end_sessions(user)
    _end_open_links(user.id)
    db.session.commit()
    return user
