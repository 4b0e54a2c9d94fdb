"""Operator accounts as the provider manages them: finding, listing, disabling, enabling."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Row, bindparam, func, select

from fedipanel.accounts.models import Role, User
from fedipanel.db import db
from fedipanel.errors import NotFound
from fedipanel.timeutil import utcnow


def get_operator(operator_id: int) -> User:
    """Return the operator account with this id; any other id is not found."""
    user = db.session.get(User, operator_id)
    if user is None or not user.is_operator:
        raise NotFound("No such operator.", loc=("operator",))
    return user


def all_operators() -> list[User]:
    """Return every operator account, by email."""
    return list(
        db.session.scalars(select(User).where(User.role == Role.OPERATOR).order_by(User.email))
    )


# The columns the provider's list shows (templates/operators/index.html), built once.
_PAGE = (
    select(User.id, User.email, User.slug, User.disabled_at)
    .where(User.role == Role.OPERATOR)
    .order_by(User.email)
    .limit(bindparam("limit"))
    .offset(bindparam("offset"))
)


def operators_page(page: int, per_page: int) -> tuple[Sequence[Row[*tuple[Any, ...]]], int]:
    """Return the rows of the operators on `page` (from 1, by email) and how many there are."""
    total = db.session.scalar(select(func.count()).where(User.role == Role.OPERATOR)) or 0
    found = db.session.connection().execute(
        _PAGE, {"limit": per_page, "offset": (page - 1) * per_page}
    )
    return found.all(), total


def operators_after(after_id: int | None, limit: int) -> tuple[list[User], bool]:
    """Return up to `limit` operators with an id above `after_id`, and whether more follow."""
    statement = select(User).where(User.role == Role.OPERATOR).order_by(User.id)
    if after_id is not None:
        statement = statement.where(User.id > after_id)
    rows = list(db.session.scalars(statement.limit(limit + 1)))
    return rows[:limit], len(rows) > limit


def end_sessions(user: User) -> None:
    """End every open session of the account (the caller commits)."""
    user.session_version += 1


def disable(operator: User) -> bool:
    """Disable an operator: no login, no token, no deployment; return whether it changed.

    What the operator deployed keeps running: nothing outside the panel is touched.
    """
    if operator.disabled_at is not None:
        return False
    operator.disabled_at = utcnow()
    # Enabling again must not bring back the sessions that were open before.
    end_sessions(operator)
    db.session.commit()
    return True


def enable(operator: User) -> bool:
    """Let a disabled operator log in, use tokens and deploy again; return whether it changed."""
    if operator.disabled_at is None:
        return False
    operator.disabled_at = None
    db.session.commit()
    return True
