"""Buckets and keys for one operator's services, found again by alias and name before creating."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from fedipanel.providers.garage import s3
from fedipanel.providers.garage.admin import BucketInfo, GarageAdmin, GarageError, KeyInfo
from fedipanel.providers.garage.settings import GarageSettings

CLEANUP_KEY_PREFIX = "fedipanel-cleanup-"


@dataclass(frozen=True)
class Ensured:
    """A bucket or key that exists now; `created` says whether this run made it."""

    id: str
    created: bool


def ensure_bucket(
    admin: GarageAdmin,
    name: str,
    *,
    quota_bytes: int | None,
    public_read: bool,
    on_exists: Callable[[Ensured], None],
) -> Ensured:
    """Find the bucket by its global alias or create it; then set its quota and website access.

    `on_exists` runs as soon as the bucket exists, before any further call, so that a failure
    afterwards never leaves it unrecorded.
    """
    info: BucketInfo | None = admin.bucket_by_alias(name)
    created = info is None
    if info is None:
        try:
            info = admin.create_bucket(name)
        except GarageError as exc:
            if exc.status != 409:
                raise
            # Created concurrently (or by a run that died before recording): find it again.
            info = admin.bucket_by_alias(name)
            if info is None:
                raise
            created = False
    ensured = Ensured(info.id, created)
    on_exists(ensured)
    wanted = quota_bytes
    if info.quotas.get("maxSize") != wanted or info.website_access != public_read:
        admin.update_bucket(info.id, max_size=wanted, website=public_read)
    return ensured


def ensure_key(
    admin: GarageAdmin,
    name: str,
    known: tuple[str, str] | None,
    on_exists: Callable[[KeyInfo], None],
) -> KeyInfo:
    """Find the key by name or create it; return it with its secret.

    `known` is the (id, secret) the panel already keeps; the secret is only fetched from
    Garage (showSecretKey) when the panel lost it.
    """
    found = admin.key_by_name(name)
    if found is None:
        key = admin.create_key(name)
        on_exists(key)
        if not key.secret:
            key = KeyInfo(key.id, key.name, admin.key_secret(key.id))
        return key
    secret = known[1] if known and known[0] == found.id else admin.key_secret(found.id)
    key = KeyInfo(found.id, found.name, secret)
    on_exists(key)
    return key


def grant(
    settings: GarageSettings, admin: GarageAdmin, key: KeyInfo, bucket: str, *, cors: bool
) -> None:
    """Give the key read and write on the bucket; set CORS for public media."""
    info = admin.bucket_by_alias(bucket)
    if info is None:
        raise GarageError(f"bucket {bucket} disappeared while its key was being set up")
    perms = info.key_permissions.get(key.id, {})
    if not (perms.get("read") and perms.get("write")):
        admin.allow(info.id, key.id, read=True, write=True)
    if cors:
        # Garage lets only a bucket's owner set CORS: own it for that call only, so that the
        # service's key keeps read and write and nothing more.
        admin.allow_owner(info.id, key.id)
        try:
            s3.set_cors(settings.credentials(key.id, key.secret or ""), bucket)
        finally:
            admin.deny_owner(info.id, key.id)


def delete_bucket(settings: GarageSettings, admin: GarageAdmin, name: str) -> int | None:
    """Empty and delete a bucket; return how many objects it held (None: it was gone)."""
    info = admin.bucket_by_alias(name)
    if info is None:
        return None
    # The service's key may be gone already: empty the bucket with a short-lived key of its own.
    cleanup_name = f"{CLEANUP_KEY_PREFIX}{name}"
    key = admin.key_by_name(cleanup_name)
    if key is not None:
        admin.delete_key(key.id)
    key = admin.create_key(cleanup_name)
    try:
        admin.allow(info.id, key.id, read=True, write=True)
        count = s3.empty(settings.credentials(key.id, key.secret or ""), name)
    finally:
        admin.delete_key(key.id)
    admin.delete_bucket(info.id)
    return count


def delete_key(admin: GarageAdmin, name: str) -> bool:
    """Delete the key with this name; tell whether there was one."""
    key = admin.key_by_name(name)
    if key is None:
        return False
    admin.delete_key(key.id)
    return True
