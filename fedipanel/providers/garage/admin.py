"""A client for the Garage admin API v2, limited to the operations FediPanel needs.

Every request carries `Authorization: Bearer <admin token>`; error answers are JSON
`{code, message, region, path}` and become a `GarageError` with a plain message. Neither the
token nor any secret access key is ever put into an exception or a log line.

A bucket whose creation may have happened without an answer is looked up by its alias, a key by
its name, before either is asked for again (see `transport`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fedipanel.providers.garage.transport import GarageError, Retry, Transport

__all__ = ["BucketInfo", "GarageAdmin", "GarageError", "KeyInfo", "Retry"]


@dataclass(frozen=True)
class BucketInfo:
    """What FediPanel needs to know about a bucket."""

    id: str
    global_aliases: tuple[str, ...]
    website_access: bool
    quotas: dict[str, Any]
    key_permissions: dict[str, dict[str, bool]]
    objects: int
    bytes: int  # what its objects hold in total


@dataclass(frozen=True)
class KeyInfo:
    """An access key; `secret` only when asked for (CreateKey, GetKeyInfo?showSecretKey)."""

    id: str
    name: str
    secret: str | None = None


class GarageAdmin(Transport):
    """The admin API of one Garage cluster."""

    # -- operations ---------------------------------------------------------------------------

    def health(self) -> dict[str, Any]:
        """Return the cluster's health report (GetClusterHealth)."""
        result: dict[str, Any] = self._call("GET", "GetClusterHealth")
        return result

    def bucket_by_alias(self, alias: str) -> BucketInfo | None:
        """Return the bucket with this global alias, or None."""
        try:
            return _bucket(self._call("GET", "GetBucketInfo", {"globalAlias": alias}))
        except GarageError as exc:
            if exc.status == 404:
                return None
            raise

    def bucket(self, bucket_id: str) -> BucketInfo | None:
        """Return a bucket by id, or None."""
        try:
            return _bucket(self._call("GET", "GetBucketInfo", {"id": bucket_id}))
        except GarageError as exc:
            if exc.status == 404:
                return None
            raise

    def create_bucket(self, alias: str) -> BucketInfo:
        """Create a bucket with a global alias (found again by it after a lost answer)."""

        def find() -> Any:
            try:
                return self._call("GET", "GetBucketInfo", {"globalAlias": alias})
            except GarageError as exc:
                if exc.status == 404:
                    return None
                raise

        return _bucket(self._create("CreateBucket", {"globalAlias": alias}, find))

    def update_bucket(
        self,
        bucket_id: str,
        *,
        max_size: int | None = None,
        website: bool | None = None,
    ) -> BucketInfo:
        """Set a bucket's size quota and website (public read) access."""
        body: dict[str, Any] = {"quotas": {"maxSize": max_size, "maxObjects": None}}
        if website is not None:
            body["websiteAccess"] = (
                {"enabled": True, "indexDocument": "index.html", "errorDocument": None}
                if website
                else {"enabled": False}
            )
        return _bucket(self._call("POST", "UpdateBucket", {"id": bucket_id}, body))

    def delete_bucket(self, bucket_id: str) -> None:
        """Delete an empty bucket; one already gone (a retry after a lost answer) is fine."""
        try:
            self._call("POST", "DeleteBucket", {"id": bucket_id})
        except GarageError as exc:
            if exc.status != 404:
                raise

    def list_keys(self) -> list[KeyInfo]:
        """Return every access key (without secrets)."""
        return [
            KeyInfo(item["id"], item.get("name") or "") for item in self._call("GET", "ListKeys")
        ]

    def key_by_name(self, name: str) -> KeyInfo | None:
        """Return the only key with this exact name, or None; several is an error."""
        found = [key for key in self.list_keys() if key.name == name]
        if len(found) > 1:
            raise GarageError(
                f"Garage holds {len(found)} keys named {name!r}: delete the extra ones "
                "(`garage key list`) so FediPanel knows which one is its own"
            )
        return found[0] if found else None

    def key_secret(self, key_id: str) -> str:
        """Return a key's secret access key (GetKeyInfo with showSecretKey)."""
        info = self._call("GET", "GetKeyInfo", {"id": key_id, "showSecretKey": "true"})
        secret = info.get("secretAccessKey")
        if not secret:
            raise GarageError(f"Garage did not reveal the secret of key {key_id}")
        return str(secret)

    def create_key(self, name: str) -> KeyInfo:
        """Create an access key with a name; the answer holds its secret.

        Garage does not refuse a second key of the same name, so after an ambiguous failure
        the key is looked for by name (with its secret) before another is asked for.
        """

        def find() -> Any:
            found = self.key_by_name(name)
            if found is None:
                return None
            return self._call("GET", "GetKeyInfo", {"id": found.id, "showSecretKey": "true"})

        info = self._create("CreateKey", {"name": name}, find)
        return KeyInfo(info["accessKeyId"], info.get("name") or name, info.get("secretAccessKey"))

    def allow(self, bucket_id: str, key_id: str, *, read: bool, write: bool) -> BucketInfo:
        """Grant a key read and/or write on a bucket (AllowBucketKey only turns flags on)."""
        permissions = {flag: True for flag, on in (("read", read), ("write", write)) if on}
        body = {"bucketId": bucket_id, "accessKeyId": key_id, "permissions": permissions}
        return _bucket(self._call("POST", "AllowBucketKey", body=body))

    def allow_owner(self, bucket_id: str, key_id: str) -> None:
        """Make a key owner of a bucket (needed to set CORS over S3)."""
        body = {"bucketId": bucket_id, "accessKeyId": key_id, "permissions": {"owner": True}}
        self._call("POST", "AllowBucketKey", body=body)

    def deny_owner(self, bucket_id: str, key_id: str) -> None:
        """Take a bucket's owner flag away from a key (DenyBucketKey turns flags off)."""
        body = {"bucketId": bucket_id, "accessKeyId": key_id, "permissions": {"owner": True}}
        self._call("POST", "DenyBucketKey", body=body)

    def delete_key(self, key_id: str) -> None:
        """Delete an access key; one already gone (a retry after a lost answer) is fine."""
        try:
            self._call("POST", "DeleteKey", {"id": key_id})
        except GarageError as exc:
            if exc.status != 404:
                raise


def _bucket(info: dict[str, Any]) -> BucketInfo:
    return BucketInfo(
        id=info["id"],
        global_aliases=tuple(info.get("globalAliases") or ()),
        website_access=bool(info.get("websiteAccess")),
        quotas=dict(info.get("quotas") or {}),
        key_permissions={
            key["accessKeyId"]: dict(key.get("permissions") or {}) for key in info.get("keys", [])
        },
        objects=int(info.get("objects") or 0),
        bytes=int(info.get("bytes") or 0),
    )
