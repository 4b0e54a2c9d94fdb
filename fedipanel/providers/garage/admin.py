"""A client for the Garage admin API v2, limited to the operations FediPanel needs.

Every request carries `Authorization: Bearer <admin token>`; error answers are JSON
`{code, message, region, path}` and become a `GarageError` with a plain message. Neither the
token nor any secret access key is ever put into an exception or a log line.
"""

from __future__ import annotations

import json
import ssl
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any


class GarageError(Exception):
    """Garage refused or could not be reached; the message says which and why."""

    def __init__(self, message: str, status: int | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


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


class GarageAdmin:
    """The admin API of one Garage cluster."""

    def __init__(self, url: str, token: str, timeout: float = 10.0) -> None:
        self.url = url.rstrip("/")
        self._token = token
        self.timeout = timeout

    def __repr__(self) -> str:  # never show the token
        return f"GarageAdmin({self.url!r})"

    # -- plumbing ---------------------------------------------------------------------------

    def _call(
        self,
        method: str,
        operation: str,
        query: dict[str, str] | None = None,
        body: dict[str, Any] | None = None,
    ) -> Any:
        url = f"{self.url}/v2/{operation}"
        if query:
            url += "?" + urllib.parse.urlencode(query)
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(url, data=data, method=method)  # noqa: S310 - http(s) URL from settings
        request.add_header("Authorization", f"Bearer {self._token}")
        request.add_header("Accept", "application/json")
        if data is not None:
            request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                raw = response.read()
        except urllib.error.HTTPError as exc:
            raise self._http_error(operation, exc) from None
        except urllib.error.URLError as exc:
            raise GarageError(_unreachable(self.url, exc.reason)) from None
        except (TimeoutError, OSError) as exc:
            raise GarageError(_unreachable(self.url, exc)) from None
        if not raw:
            return None
        try:
            return json.loads(raw)
        except ValueError:
            raise GarageError(
                f"Garage admin API at {self.url} answered {operation} with something that is "
                "not JSON: is this the admin port (3903), not the S3 port?"
            ) from None

    def _http_error(self, operation: str, exc: urllib.error.HTTPError) -> GarageError:
        code = message = None
        try:
            payload = json.loads(exc.read() or b"{}")
            if isinstance(payload, dict):
                code, message = payload.get("code"), payload.get("message")
        except ValueError:
            pass
        if exc.code in (401, 403):
            text = (
                f"Garage admin API at {self.url} refused the admin token ({exc.code}): "
                "check FEDIPANEL_GARAGE_ADMIN_TOKEN"
            )
        else:
            text = f"Garage refused {operation} ({exc.code}{f' {code}' if code else ''})"
            if message:
                text += f": {message}"
        return GarageError(text, exc.code, code)

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
        """Create a bucket with a global alias."""
        return _bucket(self._call("POST", "CreateBucket", body={"globalAlias": alias}))

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
        """Delete an empty bucket."""
        self._call("POST", "DeleteBucket", {"id": bucket_id})

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
        """Create an access key with a name; the answer holds its secret."""
        info = self._call("POST", "CreateKey", body={"name": name})
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
        """Delete an access key."""
        self._call("POST", "DeleteKey", {"id": key_id})


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


def _unreachable(url: str, reason: object) -> str:
    if isinstance(reason, ssl.SSLError):
        return f"Garage admin API at {url}: TLS failed ({reason}); check the URL's scheme"
    return f"Garage admin API at {url} is unreachable ({reason})"
