"""S3 storage: buckets and access keys per service on Garage, or pre-configured buckets.

Everything is found again before it is created (buckets by global alias, keys by name) and
recorded the moment it exists, so a failed run leaves nothing unrecorded and the next run
creates nothing twice. Every key is proven with a probe object before nixops4 runs.
"""

from __future__ import annotations

from fedipanel.core.planner import Action, Change, DataFate
from fedipanel.core.text import N_
from fedipanel.deployments.systems import SystemKey
from fedipanel.keys.deploy_keys import rekeying
from fedipanel.providers.garage import provision, s3
from fedipanel.providers.garage import settings as garage_settings
from fedipanel.providers.garage.admin import GarageAdmin, GarageError, KeyInfo
from fedipanel.resources.records import recorded_facts
from fedipanel.storage import records as storage
from fedipanel.storage.models import StorageKey
from jobs.runner import StepFailed
from jobs.steps.context import DeployContext

_AFTER_FAILURE = (
    " Nothing was deployed; what was created so far is recorded, and the next deployment "
    "continues from there."
)


def _garage(ctx: DeployContext) -> garage_settings.GarageSettings | None:
    if ctx.is_simulated(SystemKey.STORAGE):
        return None
    found = ctx.settings.garage
    if found is None:
        raise StepFailed("S3 storage: Garage is no longer configured." + _AFTER_FAILURE)
    return found


def create(ctx: DeployContext) -> None:
    ctx.progress.phase(N_("Creating buckets and keys"), 25)
    garage = _garage(ctx)
    _log_kept(ctx)
    live = [c for c in ctx.changes("s3_bucket", "s3_key") if c.data != DataFate.KEEP]
    try:
        for change in (c for c in live if c.kind == "s3_bucket"):
            if change.spec.get("assigned"):
                _check_assigned(ctx, change)
            elif garage is None:
                _simulate(ctx, change)
            else:
                _ensure_bucket(ctx, garage, change)
        for change in (c for c in live if c.kind == "s3_key"):
            if garage is None:
                _simulate(ctx, change)
            else:
                _ensure_key(ctx, garage, change)
    except (GarageError, s3.S3Error) as exc:
        raise StepFailed(f"S3 storage: {exc}." + _AFTER_FAILURE) from None


def _simulate(ctx: DeployContext, change: Change) -> None:
    if change.action != Action.KEEP:
        ctx.simulate(f"{change.action} {change.kind.replace('_', ' ')} {change.name}")
    ctx.record(change, simulated=True)


def _ensure_bucket(
    ctx: DeployContext, garage: garage_settings.GarageSettings, change: Change
) -> None:
    def recorded(bucket: provision.Ensured) -> None:
        ctx.record(change, {"bucket_id": bucket.id}, simulated=False)

    quota = change.spec.get("quota_bytes")
    ensured = provision.ensure_bucket(
        garage.admin(),
        change.name,
        quota_bytes=int(quota) if quota is not None else None,
        public_read=bool(change.spec.get("public_read")),
        on_exists=recorded,
    )
    how = "created" if ensured.created else "found"
    extra = f", quota {int(quota) // 1024**2} MiB" if quota is not None else ""
    public = ", public read" if change.spec.get("public_read") else ""
    ctx.progress.log([f"bucket {change.name} {how}{public}{extra}"])


def _ensure_key(ctx: DeployContext, garage: garage_settings.GarageSettings, change: Change) -> None:
    service = str(change.spec["service"])
    admin = garage.admin()

    def recorded(name: str, key: KeyInfo) -> None:
        # The secret is kept encrypted in its own table, never in the resource's facts.
        if key.secret:
            ctx.progress.hide(key.secret)
            storage.save_key(ctx.operator.id, service, name, key.id, key.secret)
        ctx.record(change, {"access_key_id": key.id}, simulated=False)

    row = storage.key_row(ctx.operator.id, service)
    if row is not None and row.previous_access_key_id is None and rekeying(ctx.operator.id):
        key = _rotate(ctx, admin, change, row)
    else:
        # A rekeyed key has a name of its own: it is found again by that name.
        name = row.name if row is not None else change.name
        known = storage.stored_key(ctx.operator.id, service)
        key = provision.ensure_key(admin, name, known, lambda k: recorded(name, k))
        assert key.secret is not None  # noqa: S101 - ensure_key always returns the secret
        ctx.progress.hide(key.secret)
        storage.save_key(ctx.operator.id, service, name, key.id, key.secret)
    assert key.secret is not None  # noqa: S101 - both ways return the secret
    cors = {
        c.name for c in ctx.changes("s3_bucket") if c.spec.get("cors") and c.data != DataFate.KEEP
    }
    buckets = [str(b) for b in change.spec.get("buckets", [])]
    for bucket in buckets:
        provision.grant(garage, admin, key, bucket, cors=bucket in cors)
    creds = garage.credentials(key.id, key.secret)
    for bucket in buckets:
        s3.probe(creds, bucket)
    ctx.progress.log(
        [f"key {change.name} ({key.id}) reads and writes {', '.join(buckets)}: probe passed"]
    )


def _rotate(ctx: DeployContext, admin: GarageAdmin, change: Change, row: StorageKey) -> KeyInfo:
    """Create the service's new key while rekeying; the old one keeps working until the
    deployment succeeded (jobs.steps.rekey revokes it)."""
    name = f"{change.name}-{ctx.deployment.generation}"

    def recorded(key: KeyInfo) -> None:
        secret = key.secret or admin.key_secret(key.id)
        ctx.progress.hide(secret)
        storage.rotate_key(row, name, key.id, secret)
        ctx.record(change, {"access_key_id": key.id}, simulated=False)

    key = provision.ensure_key(admin, name, None, recorded)
    assert key.secret is not None  # noqa: S101 - ensure_key always returns the secret
    ctx.progress.log([f"key {change.name}: new key {name} ({key.id}) replaces {row.previous_name}"])
    return key


def _check_assigned(ctx: DeployContext, change: Change) -> None:
    service = str(change.spec["service"])
    row = storage.assigned_bucket(ctx.operator.id, service)
    if row is None or row.bucket != change.name:
        raise StepFailed(
            f"S3 storage: the pre-configured bucket of {service} changed while deploying; "
            "deploy again."
        )
    creds = storage.assigned_credentials(row)
    ctx.progress.hide(creds.secret_access_key)
    s3.probe(creds, row.bucket)
    ctx.record(change, {"endpoint": row.endpoint}, simulated=False)
    ctx.progress.log([f"pre-configured bucket {row.bucket} for {service}: probe passed"])


def _log_kept(ctx: DeployContext) -> None:
    kept: dict[str, list[str]] = {}
    for change in ctx.changes("s3_bucket", "s3_key"):
        if change.data == DataFate.KEEP:
            kept.setdefault(str(change.spec.get("service")), []).append(change.name)
    for service, names in kept.items():
        outcome = f"data kept: {', '.join(names)} left as they are"
        ctx.progress.log([f"{service}: {outcome}"])
        storage.record_outcome(ctx.deployment.id, service, "keep", outcome)


def remove(ctx: DeployContext, change: Change) -> None:
    service = str(change.spec.get("service"))
    if change.spec.get("assigned"):
        outcome = f"pre-configured bucket {change.name} left as it is (never deleted)"
        ctx.progress.log([f"{service}: {outcome}"])
        storage.record_outcome(ctx.deployment.id, service, "keep", outcome)
        return
    facts = recorded_facts(ctx.operator.id, change.kind).get(change.name, {})
    real = "bucket_id" in facts or "access_key_id" in facts
    if not real or ctx.is_simulated(SystemKey.STORAGE):
        ctx.simulate(f"delete {change.kind.replace('_', ' ')} {change.name}")
        if real:
            raise StepFailed(
                f"S3 storage: {change.name} exists on Garage, which is no longer configured; "
                "nothing was deleted."
            )
        return
    garage = _garage(ctx)
    assert garage is not None  # noqa: S101 - checked above
    try:
        if change.kind == "s3_bucket":
            count = provision.delete_bucket(garage, garage.admin(), change.name)
            outcome = (
                f"bucket {change.name} was already gone"
                if count is None
                else f"bucket {change.name} emptied ({count} objects) and deleted"
            )
        else:
            admin = garage.admin()
            row = storage.key_row(ctx.operator.id, service)
            names = {change.name} | ({row.name, row.previous_name} if row else set())
            for name in sorted(n for n in names if n):
                provision.delete_key(admin, name)
            storage.forget_key(ctx.operator.id, service)
            outcome = f"key {change.name} deleted"
    except (GarageError, s3.S3Error) as exc:
        raise StepFailed(f"S3 storage: deleting {change.name} failed: {exc}") from None
    ctx.progress.log([f"{service}: {outcome}"])
    choice = "delete" if change.data == DataFate.DELETE else "keep"
    storage.record_outcome(ctx.deployment.id, service, choice, outcome)
