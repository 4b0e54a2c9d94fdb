"""The administrator password of each of an operator's services: made, kept, revealed, rotated.

The panel generates one strong password per service, keeps it encrypted, and delivers it to the
service's machine as a file; the machine applies it with the service's own tools.
"""

from __future__ import annotations

import secrets

from sqlalchemy import select

from fedipanel.accounts.models import User
from fedipanel.accounts.users import check_password
from fedipanel.audit.log import Action, record
from fedipanel.core.registry import SERVICE_NAMES
from fedipanel.crypto import decrypt, encrypt
from fedipanel.db import db
from fedipanel.errors import NotFound, Refused
from fedipanel.services.models import AdminPassword
from fedipanel.timeutil import utcnow

# 32 URL-safe characters (192 bits): inside every service's length limits (Mastodon's
# bcrypt stops at 72 bytes) and free of characters a shell or a form could mangle.
_PASSWORD_BYTES = 24


def generate_password() -> str:
    """Return a new strong random password."""
    return secrets.token_urlsafe(_PASSWORD_BYTES)


def _row(operator_id: int, service: str) -> AdminPassword | None:
    return db.session.scalar(
        select(AdminPassword).where(
            AdminPassword.operator_id == operator_id, AdminPassword.service == service
        )
    )


def ensure_password(operator_id: int, service: str) -> str:
    """Return the service's admin password, generating it the first time (the caller commits)."""
    row = _row(operator_id, service)
    if row is None:
        password = generate_password()
        db.session.add(
            AdminPassword(
                operator_id=operator_id, service=service, password_encrypted=encrypt(password)
            )
        )
        db.session.flush()
        return password
    return decrypt(row.password_encrypted)


def stored_password(operator_id: int, service: str) -> str | None:
    """Return the service's admin password if one was made, without making one."""
    row = _row(operator_id, service)
    return None if row is None else decrypt(row.password_encrypted)


def generations(operator_id: int) -> dict[str, int]:
    """Return how often each service's password was made (1 for the first), by service."""
    rows = db.session.execute(
        select(AdminPassword.service, AdminPassword.generation).where(
            AdminPassword.operator_id == operator_id
        )
    )
    return {service: generation for service, generation in rows}


def known_service(operator_id: int, service: str) -> AdminPassword:
    """Return the password row of one of the operator's services; NotFound otherwise."""
    row = _row(operator_id, service) if service in SERVICE_NAMES else None
    if row is None:
        raise NotFound(
            f"No administrator password exists for '{service}': "
            "it is made when a deployment of that service runs."
        )
    return row


def reveal(user: User, service: str, password: str, address: str | None = None) -> str:
    """Return the admin password after the operator confirmed their own password; audit it."""
    row = known_service(user.id, service)
    if not check_password(user, password):
        record(
            Action.ADMIN_PASSWORD_REVEAL_REFUSED,
            actor_id=user.id,
            actor_email=user.email,
            operator_id=user.id,
            address=address,
            service=service,
        )
        raise Refused("That is not your password.", loc=("password",))
    record(
        Action.ADMIN_PASSWORD_REVEALED,
        actor_id=user.id,
        actor_email=user.email,
        operator_id=user.id,
        address=address,
        service=service,
    )
    return decrypt(row.password_encrypted)


def rotate(user: User, service: str, address: str | None = None) -> int:
    """Replace a service's admin password with a new one; return its generation (no commit)."""
    row = known_service(user.id, service)
    row.password_encrypted = encrypt(generate_password())
    row.generation += 1
    row.rotated_at = utcnow()
    record(
        Action.ADMIN_PASSWORD_ROTATED,
        actor_id=user.id,
        actor_email=user.email,
        operator_id=user.id,
        address=address,
        commit=False,
        service=service,
        generation=row.generation,
    )
    return row.generation


def generations_of(operator_ids: list[int]) -> dict[int, dict[str, int]]:
    """Return `generations` of many operators at once."""
    found: dict[int, dict[str, int]] = {i: {} for i in operator_ids}
    rows = db.session.execute(
        select(AdminPassword.operator_id, AdminPassword.service, AdminPassword.generation).where(
            AdminPassword.operator_id.in_(operator_ids)
        )
    )
    for operator_id, service, generation in rows:
        found[operator_id][service] = generation
    return found
