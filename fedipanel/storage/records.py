"""Storage records: Garage keys the panel keeps, pre-configured buckets, keep/delete outcomes."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select

from fedipanel.core.registry import SERVICE_NAMES
from fedipanel.core.validators import check_text, check_url
from fedipanel.crypto import decrypt, encrypt
from fedipanel.db import db
from fedipanel.providers.garage.s3 import Credentials
from fedipanel.storage.models import AssignedBucket, StorageKey, StorageOutcome

# S3 bucket names (dots allowed: a pre-configured bucket may predate FediPanel's stricter names).
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_REGION = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
_KEY_ID = re.compile(r"^[A-Za-z0-9_+/=.-]{3,255}$")
# An http(s) URL without credentials; `{bucket}` may stand for the bucket's name in the host.
_URL = re.compile(
    r"^https?://(\[[0-9A-Fa-f:.]+\]|([A-Za-z0-9.-]|\{bucket\})+)(:[0-9]{1,5})?([/?#][!-~]*)?$"
)
URL_MAX = 500
# A secret's first and last character: no control character, nothing str.strip() removes.
_EDGE = "[^\\x00-\\x20\\x7f\\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]"
# The rules as JSON Schema keywords for the API document; assign_bucket applies exactly these
# (to values without spaces around them: the API refuses those, forms and the CLI tidy them).
RULES: dict[str, dict[str, Any]] = {
    "endpoint": {"pattern": _URL.pattern, "maxLength": URL_MAX},
    "public_url": {"pattern": f"^$|{_URL.pattern}", "maxLength": URL_MAX},
    "region": {"pattern": _REGION.pattern},
    "bucket": {"pattern": _BUCKET.pattern, "not": {"pattern": "\\.\\."}},
    "access_key_id": {"pattern": _KEY_ID.pattern},
    "secret": {"pattern": f"^{_EDGE}([^\\x00-\\x1f\\x7f]*{_EDGE})?$"},
}


class StorageInputError(ValueError):
    """A pre-configured bucket's field is wrong; `field` names it."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def _check_url(field: str, value: str) -> str:
    value = value.strip()
    if len(value) > URL_MAX:
        raise StorageInputError(field, f"must be at most {URL_MAX} characters")
    try:
        check_url(value)
    except ValueError as exc:
        raise StorageInputError(field, str(exc)) from None
    if not _URL.fullmatch(value):
        raise StorageInputError(field, "must be an http:// or https:// URL with a host name")
    return value.rstrip("/")


def assign_bucket(
    operator_id: int,
    service: str,
    *,
    endpoint: str,
    region: str,
    bucket: str,
    access_key_id: str,
    secret: str,
    public_url: str | None = None,
) -> AssignedBucket:
    """Give an operator's service an existing bucket (replacing an earlier one)."""
    if service not in SERVICE_NAMES:
        raise StorageInputError("service", f"must be one of {', '.join(SERVICE_NAMES)}")
    fields = {
        "endpoint": endpoint,
        "region": region,
        "bucket": bucket,
        "access_key_id": access_key_id,
        "secret": secret,
        "public_url": public_url or "",
    }
    for field, text in fields.items():
        try:
            check_text(text)
        except ValueError as exc:
            raise StorageInputError(field, str(exc)) from None
    endpoint = _check_url("endpoint", endpoint)
    public = _check_url("public_url", public_url) if public_url and public_url.strip() else None
    region = region.strip()
    if not _REGION.fullmatch(region):
        raise StorageInputError("region", "must be a region name such as garage or eu-west-1")
    bucket = bucket.strip()
    if not _BUCKET.fullmatch(bucket) or ".." in bucket:
        raise StorageInputError("bucket", "must be 3-63 lowercase letters, digits, dots, hyphens")
    access_key_id = access_key_id.strip()
    if not _KEY_ID.fullmatch(access_key_id):
        raise StorageInputError("access_key_id", "must be the bucket's access key id")
    secret = secret.strip()
    if not secret:
        raise StorageInputError("secret", "the secret access key is required")
    if any(ch < " " or ch == "\x7f" for ch in secret):
        raise StorageInputError("secret", "must not contain control characters")
    taken = db.session.scalar(
        select(AssignedBucket).where(
            AssignedBucket.operator_id == operator_id,
            AssignedBucket.bucket == bucket,
            AssignedBucket.service != service,
        )
    )
    if taken is not None:
        raise StorageInputError("bucket", f"already given to this operator's {taken.service}")
    row = assigned_bucket(operator_id, service)
    if row is None:
        row = AssignedBucket(operator_id=operator_id, service=service)
        db.session.add(row)
    row.endpoint, row.region, row.bucket, row.public_url = endpoint, region, bucket, public
    row.access_key_id, row.secret_encrypted = access_key_id, encrypt(secret)
    db.session.commit()
    return row


def unassign_bucket(operator_id: int, service: str) -> bool:
    """Stop using a pre-configured bucket (the bucket itself is never touched)."""
    row = assigned_bucket(operator_id, service)
    if row is None:
        return False
    db.session.delete(row)
    db.session.commit()
    return True


def assigned_bucket(operator_id: int, service: str) -> AssignedBucket | None:
    """Return the bucket pre-configured for one service, if any."""
    return db.session.scalar(
        select(AssignedBucket).where(
            AssignedBucket.operator_id == operator_id, AssignedBucket.service == service
        )
    )


def assigned_buckets(operator_id: int) -> dict[str, AssignedBucket]:
    """Return the operator's pre-configured buckets by service."""
    rows = db.session.scalars(
        select(AssignedBucket).where(AssignedBucket.operator_id == operator_id)
    )
    return {row.service: row for row in rows}


def assigned_credentials(row: AssignedBucket) -> Credentials:
    """Return the credentials of a pre-configured bucket."""
    return Credentials(row.endpoint, row.region, row.access_key_id, decrypt(row.secret_encrypted))


def save_key(operator_id: int, service: str, name: str, key_id: str, secret: str) -> None:
    """Keep a Garage key's secret (encrypted) so later deployments can deliver it again."""
    row = db.session.scalar(
        select(StorageKey).where(
            StorageKey.operator_id == operator_id, StorageKey.service == service
        )
    )
    if row is None:
        row = StorageKey(operator_id=operator_id, service=service)
        db.session.add(row)
    row.name, row.access_key_id, row.secret_encrypted = name, key_id, encrypt(secret)
    db.session.commit()


def stored_key(operator_id: int, service: str) -> tuple[str, str] | None:
    """Return (access key id, secret) of a service's Garage key, if the panel keeps one."""
    row = db.session.scalar(
        select(StorageKey).where(
            StorageKey.operator_id == operator_id, StorageKey.service == service
        )
    )
    return None if row is None else (row.access_key_id, decrypt(row.secret_encrypted))


def key_row(operator_id: int, service: str) -> StorageKey | None:
    """Return the row of a service's Garage key, if the panel keeps one."""
    return db.session.scalar(
        select(StorageKey).where(
            StorageKey.operator_id == operator_id, StorageKey.service == service
        )
    )


def rotate_key(row: StorageKey, name: str, key_id: str, secret: str) -> None:
    """Make a new Garage key the service's own, keeping the old one's name and id to revoke it
    once the deployment succeeded."""
    if row.previous_access_key_id is None:
        row.previous_name, row.previous_access_key_id = row.name, row.access_key_id
    row.name, row.access_key_id, row.secret_encrypted = name, key_id, encrypt(secret)
    db.session.commit()


def retired_keys(operator_id: int) -> list[StorageKey]:
    """Return the operator's key rows whose replaced key still waits to be revoked."""
    return list(
        db.session.scalars(
            select(StorageKey).where(
                StorageKey.operator_id == operator_id,
                StorageKey.previous_access_key_id.is_not(None),
            )
        )
    )


def forget_previous(row: StorageKey) -> None:
    """Drop the record of a replaced key once it was revoked."""
    row.previous_name = row.previous_access_key_id = None
    db.session.commit()


def forget_key(operator_id: int, service: str) -> None:
    """Drop a deleted key's secret."""
    row = db.session.scalar(
        select(StorageKey).where(
            StorageKey.operator_id == operator_id, StorageKey.service == service
        )
    )
    if row is not None:
        db.session.delete(row)
        db.session.commit()


def record_outcome(deployment_id: int, service: str, choice: str, outcome: str) -> None:
    """Record what a deployment did with a disabled service's data."""
    db.session.add(
        StorageOutcome(deployment_id=deployment_id, service=service, choice=choice, outcome=outcome)
    )
    db.session.commit()


def outcomes(deployment_id: int) -> list[StorageOutcome]:
    """Return a deployment's keep/delete outcomes."""
    return list(
        db.session.scalars(
            select(StorageOutcome)
            .where(StorageOutcome.deployment_id == deployment_id)
            .order_by(StorageOutcome.id)
        )
    )


def assigned_buckets_of(operator_ids: list[int]) -> dict[int, dict[str, AssignedBucket]]:
    """Return the pre-configured buckets of many operators, by operator and service."""
    found: dict[int, dict[str, AssignedBucket]] = {i: {} for i in operator_ids}
    rows = db.session.scalars(
        select(AssignedBucket).where(AssignedBucket.operator_id.in_(operator_ids))
    )
    for row in rows:
        found[row.operator_id][row.service] = row
    return found
