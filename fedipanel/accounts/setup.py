"""The one-time code that guards creating the first provider account, and its attempt limit."""

from __future__ import annotations

import secrets
from datetime import timedelta
from pathlib import Path

from sqlalchemy import func, select

from fedipanel.accounts.models import LoginFailure
from fedipanel.db import db
from fedipanel.instance_files import read_or_create
from fedipanel.timeutil import utcnow

# Wrong codes allowed per minute, from all addresses together: 32 bits take centuries to guess.
MAX_FAILURES_PER_MINUTE = 5
WINDOW = timedelta(minutes=1)
# Failed codes are kept with the failed logins under this name, which no email can have.
_MARKER = "(set-up code)"
_FILE = "setup-code"


def setup_code(instance_path: str) -> str:
    """Return the set-up code, creating it in the instance folder on first use."""
    return read_or_create(Path(instance_path) / _FILE, lambda: secrets.token_hex(4))


def forget_setup_code(instance_path: str) -> None:
    """Remove the set-up code's file: a provider exists, the code has served."""
    (Path(instance_path) / _FILE).unlink(missing_ok=True)


def setup_blocked_for() -> int:
    """Return the seconds until another code may be tried, or 0 when it may now."""
    since = utcnow() - WINDOW
    count, oldest = db.session.execute(
        select(func.count(), func.min(LoginFailure.at)).where(
            LoginFailure.email == _MARKER, LoginFailure.at >= since
        )
    ).one()
    if count < MAX_FAILURES_PER_MINUTE or oldest is None:
        return 0
    return max(1, int((oldest + WINDOW - utcnow()).total_seconds()))


def record_setup_failure(address: str) -> None:
    """Remember a wrong set-up code for the attempt limit."""
    db.session.add(LoginFailure(email=_MARKER, address=address[:64]))
    db.session.commit()
