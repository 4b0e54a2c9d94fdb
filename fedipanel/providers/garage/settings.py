"""The Garage section of the provider's settings page, and reading its effective values."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from fedipanel.provider_settings.sections import GARAGE_FIELDS as FIELDS
from fedipanel.providers.garage.admin import GarageAdmin, GarageError
from fedipanel.providers.garage.s3 import Credentials, S3Error, list_buckets

DEFAULT_REGION = "garage"
TEST_KEY_NAME = "fedipanel-connection-test"


@dataclass(frozen=True)
class GarageSettings:
    """Garage's effective settings; only built when the provider configured it."""

    endpoint: str
    region: str
    public_url: str | None
    admin_url: str
    admin_token: str
    quota_gib: int | None

    def admin(self) -> GarageAdmin:
        return GarageAdmin(self.admin_url, self.admin_token)

    def credentials(self, key_id: str, secret: str) -> Credentials:
        return Credentials(self.endpoint, self.region, key_id, secret)

    def __repr__(self) -> str:
        return f"GarageSettings({self.endpoint!r}, {self.admin_url!r}, token=***)"


def from_values(values: Mapping[str, str | None]) -> GarageSettings | None:
    """Return the Garage settings, or None when S3 endpoint, admin URL or token is missing."""
    endpoint, admin_url, token = (
        values.get("S3_ENDPOINT"),
        values.get("GARAGE_ADMIN_URL"),
        values.get("GARAGE_ADMIN_TOKEN"),
    )
    if not (endpoint and admin_url and token):
        return None
    quota = values.get("S3_QUOTA_GIB")
    return GarageSettings(
        endpoint=endpoint.rstrip("/"),
        region=values.get("S3_REGION") or DEFAULT_REGION,
        public_url=values.get("S3_PUBLIC_URL") or None,
        admin_url=admin_url.rstrip("/"),
        admin_token=token,
        quota_gib=int(quota) if quota and quota.strip().isdigit() else None,
    )


def current() -> GarageSettings | None:
    """Return the effective Garage settings (needs an app context)."""
    from fedipanel.provider_settings import service

    return from_values(service.values(f.key for f in FIELDS))


def validate(values: Mapping[str, str | None]) -> dict[str, str]:
    """Check entered values before saving."""
    problems: dict[str, str] = {}
    for key in ("S3_ENDPOINT", "GARAGE_ADMIN_URL", "S3_PUBLIC_URL"):
        value = values.get(key)
        if not value:
            continue
        parts = urlsplit(value.replace("{bucket}", "bucket"))
        if parts.scheme not in ("http", "https") or not parts.hostname:
            problems[key] = "must be an http:// or https:// URL"
        elif parts.username or parts.password:
            problems[key] = "must not contain credentials (they would reach the Nix store)"
    quota = values.get("S3_QUOTA_GIB")
    if quota and not (quota.isdigit() and int(quota) > 0):
        problems["S3_QUOTA_GIB"] = "must be a whole number of GiB greater than 0"
    region = values.get("S3_REGION")
    if region and not region.replace("-", "").replace("_", "").isalnum():
        problems["S3_REGION"] = "must be a region name such as garage"
    return problems


def test_connection(values: Mapping[str, str | None]) -> list[str]:
    """Check the admin API and the S3 API with a short-lived key; answer what is wrong."""
    settings = from_values(values)
    if settings is None:
        missing = [
            f.label
            for f in FIELDS
            if f.key in ("S3_ENDPOINT", "GARAGE_ADMIN_URL", "GARAGE_ADMIN_TOKEN")
            and not values.get(f.key)
        ]
        return [f"Not configured yet: set {', '.join(missing)}."]
    admin = settings.admin()
    try:
        health = admin.health()
    except GarageError as exc:
        return [str(exc)]
    problems = []
    if health.get("status") != "healthy":
        problems.append(f"Garage reports its cluster as {health.get('status')!r}.")
    try:
        key = admin.create_key(TEST_KEY_NAME)
    except GarageError as exc:
        return [*problems, f"The admin token cannot create keys: {exc}"]
    try:
        list_buckets(settings.credentials(key.id, key.secret or ""))
    except S3Error as exc:
        problems.append(str(exc))
    finally:
        try:
            admin.delete_key(key.id)
        except GarageError as exc:
            problems.append(f"Could not delete the test key {key.id}: {exc}")
    return problems
