"""Garage's settings section: its fields, their check, the connection test, typed values."""

from __future__ import annotations

from dataclasses import dataclass, field

from fedipanel.core.sections import Section, SettingField, Values
from fedipanel.core.text import N_
from fedipanel.core.validators import check_url, is_digits, problem
from fedipanel.providers.garage.admin import GarageAdmin, GarageError, Retry
from fedipanel.providers.garage.s3 import Credentials, S3Error, list_buckets

DEFAULT_REGION = "garage"
TEST_KEY_NAME = "fedipanel-connection-test"

FIELDS = (
    SettingField(
        "S3_ENDPOINT",
        N_("S3 API URL"),
        N_("Garage's S3 API, reachable from the panel and the machines (port 3900)"),
        placeholder="https://s3.provider.example",
    ),
    SettingField(
        "S3_REGION", N_("Region"), N_("Garage's s3_region (default garage)"), placeholder="garage"
    ),
    SettingField(
        "S3_PUBLIC_URL",
        N_("Public media URL"),
        N_(
            "Where browsers fetch public media; {bucket} is replaced by the bucket name "
            "(empty: the S3 API URL, path-style)"
        ),
        placeholder="https://{bucket}.web.provider.example",
    ),
    SettingField(
        "GARAGE_ADMIN_URL",
        N_("Admin API URL"),
        N_("Garage's admin API v2 (port 3903)"),
        placeholder="https://garage-admin.provider.example:3903",
    ),
    SettingField(
        "GARAGE_ADMIN_TOKEN",
        N_("Admin token"),
        N_("admin_token (or a v2 admin token allowed to manage buckets and keys)"),
        secret=True,
    ),
    SettingField(
        "S3_QUOTA_GIB",
        N_("Storage quota per operator (GiB)"),
        N_(
            "Split evenly over the operator's buckets (Garage's quotas are per bucket); empty: none"
        ),
        placeholder="100",
    ),
)


@dataclass(frozen=True)
class GarageSettings:
    """Garage's effective settings; only built when the provider configured it."""

    endpoint: str
    region: str
    public_url: str | None
    admin_url: str
    admin_token: str
    quota_gib: int | None
    retry: Retry = field(default_factory=Retry)

    def admin(self) -> GarageAdmin:
        return GarageAdmin(self.admin_url, self.admin_token, self.retry)

    def credentials(self, key_id: str, secret: str) -> Credentials:
        return Credentials(self.endpoint, self.region, key_id, secret)

    def __repr__(self) -> str:
        return f"GarageSettings({self.endpoint!r}, {self.admin_url!r}, token=***)"


def from_values(values: Values, retry: Retry | None = None) -> GarageSettings | None:
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
        quota_gib=int(quota) if quota and is_digits(quota.strip()) else None,
        retry=retry or Retry(),
    )


def validate(values: Values) -> dict[str, str]:
    """Check entered values before saving."""
    problems: dict[str, str] = {}
    for key in ("S3_ENDPOINT", "GARAGE_ADMIN_URL", "S3_PUBLIC_URL"):
        value = values.get(key)
        message = problem(check_url, value) if value else None
        if message:
            problems[key] = message + (
                " (they would reach the Nix store)" if "credent" in message else ""
            )
    quota = values.get("S3_QUOTA_GIB")
    if quota and not (is_digits(quota) and 0 < int(quota) <= 10**9):
        problems["S3_QUOTA_GIB"] = N_("must be a whole number of GiB from 1 to 1000000000")
    region = values.get("S3_REGION")
    if region and not (len(region) <= 64 and region.replace("-", "").replace("_", "").isalnum()):
        problems["S3_REGION"] = N_("must be a region name such as garage")
    return problems


def test_connection(values: Values) -> list[str]:
    """Check the admin API and the S3 API with a short-lived key; answer what is wrong."""
    # One try each: the provider is waiting for the answer.
    settings = from_values(values, Retry(attempts=1))
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


SECTION = Section(
    name="garage",
    title=N_("S3 storage (Garage)"),
    description=(
        N_(
            "Buckets and keys for every operator's services are created through Garage's admin "
            "API; the services store their media over its S3 API."
        )
    ),
    fields=FIELDS,
    validate=validate,
    test=test_connection,
)
