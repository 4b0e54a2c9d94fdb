"""Users, their API tokens and failed logins."""

from __future__ import annotations

import enum
from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from fedipanel.db import db
from fedipanel.timeutil import utcnow


class Role(enum.StrEnum):
    PROVIDER = "provider"
    OPERATOR = "operator"


class User(UserMixin, db.Model):  # type: ignore[name-defined]
    """A provider admin or an operator (the provider's customer)."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    # The operator's deployment name: lowercase letters, digits and hyphens.
    slug: Mapped[str | None] = mapped_column(String(40), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # A disabled account cannot log in, its tokens answer 401 and it cannot deploy; what it
    # deployed keeps running. An account being deleted stays disabled until it is gone.
    disabled_at: Mapped[datetime | None]
    # Part of every session's user id: raising it ends every open session of the account.
    session_version: Mapped[int] = mapped_column(default=0, server_default="0")
    # The pages' language (a catalog's code) and time zone (an IANA name); None follows the browser.
    language: Mapped[str | None] = mapped_column(String(16))
    time_zone: Mapped[str | None] = mapped_column(String(64))

    tokens: Mapped[list[ApiToken]] = relationship(
        back_populates="user", cascade="all, delete-orphan"
    )

    @property
    def is_provider(self) -> bool:
        return self.role == Role.PROVIDER

    @property
    def is_operator(self) -> bool:
        return self.role == Role.OPERATOR

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive users' sessions
        return self.disabled_at is None

    @property
    def deployment_name(self) -> str:
        """Return the name of the operator's deployment (its slug)."""
        return self.slug or f"operator-{self.id}"

    def get_id(self) -> str:
        """Return what a session stores to find the user again: the id and the session version."""
        return f"{self.id}:{self.session_version}"


class ApiToken(db.Model):  # type: ignore[name-defined]
    """A bearer token for the JSON API; only its SHA-256 is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(80))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(12))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]

    user: Mapped[User] = relationship(back_populates="tokens")


class LoginFailure(db.Model):  # type: ignore[name-defined]
    """One failed login, kept for the rate limit's window."""

    __tablename__ = "login_failures"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), index=True)
    address: Mapped[str] = mapped_column(String(64), index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class PasswordReset(db.Model):  # type: ignore[name-defined]
    """A one-time link the provider gave an operator to set a new password; only its hash."""

    __tablename__ = "password_resets"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    # Set when the link is used, or when a newer link or a new password replaces it.
    ended_at: Mapped[datetime | None]
