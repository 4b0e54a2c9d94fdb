"""Glue between stored data and the pure configurator and planner."""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app
from sqlalchemy import select

from fedipanel.accounts.models import Role, User
from fedipanel.configurations.schema import SERVICE_NAMES, Configuration
from fedipanel.configurations.service import current_version
from fedipanel.configurator import DesiredState, desired_state
from fedipanel.configurator.resources import (
    DEFAULT_SIZES,
    AssignedS3,
    MachineSize,
    OperatorFacts,
    ProviderSettings,
    Resource,
    S3Settings,
    SmtpSettings,
)
from fedipanel.deployments.models import RecordedResource
from fedipanel.extensions import db
from fedipanel.keys.service import ensure_deploy_key
from fedipanel.planning import Plan, plan_changes
from fedipanel.provider_settings import service as settings


class PlanError(Exception):
    """The provider's settings do not allow planning; the message says what to fix."""


@dataclass(frozen=True)
class PlannedChange:
    """Everything a deployment of the current configuration would do."""

    config: Configuration
    version: int
    state: DesiredState
    plan: Plan


def provider_settings() -> ProviderSettings:
    """Return the provider's settings the configurator needs."""
    config = current_app.config
    sizes = dict(DEFAULT_SIZES)
    sizes.update(_sizes_from_settings_page())
    try:
        for service, size in (config.get("SIZES") or {}).items():
            sizes[service] = MachineSize(
                cores=int(size["cores"]),
                memory_mib=int(size["memory_mib"]),
                disk_gib=int(size["disk_gib"]),
            )
    except (AttributeError, KeyError, TypeError, ValueError) as exc:
        raise PlanError(
            "FEDIPANEL_SIZES must map service names to "
            '{"cores": N, "memory_mib": N, "disk_gib": N}'
            f" ({type(exc).__name__}: {exc})"
        ) from None
    acme_email = config.get("ACME_EMAIL") or db.session.scalar(
        select(User.email).where(User.role == Role.PROVIDER).order_by(User.id).limit(1)
    )
    smtp = None
    mail = settings.values(("SMTP_HOST", "SMTP_PORT", "SMTP_USER", "SMTP_FROM_DOMAIN"))
    if mail["SMTP_HOST"]:
        try:
            port = int(mail["SMTP_PORT"] or 587)
        except ValueError:
            raise PlanError("the SMTP port must be a number") from None
        smtp = SmtpSettings(
            host=mail["SMTP_HOST"],
            port=port,
            user=mail["SMTP_USER"],
            from_domain=mail["SMTP_FROM_DOMAIN"],
        )
    return ProviderSettings(
        s3=s3_settings(),
        sizes=sizes,
        acme_email=acme_email or "hostmaster@localhost.localdomain",
        state_version=str(config["STATE_VERSION"]),
        dns_ttl=int(config["DNS_TTL"]),
        smtp=smtp,
    )


def s3_settings() -> S3Settings | None:
    """Return the S3 values the services get when the provider configured Garage."""
    from fedipanel.providers.garage import settings as garage

    found = garage.current()
    if found is None:
        return None
    quota = found.quota_gib * 1024**3 if found.quota_gib else None
    return S3Settings(found.endpoint, found.region, found.public_url, quota)


def _sizes_from_settings_page() -> dict[str, MachineSize]:
    from fedipanel.machines.sizes import parse_size

    out = {}
    for service in DEFAULT_SIZES:
        value = settings.get(f"SIZE_{service.upper()}")
        if value:
            try:
                out[service] = parse_size(value)
            except ValueError as exc:
                raise PlanError(f"the {service} machine size {value!r} {exc}") from None
    return out


def operator_facts(operator: User) -> OperatorFacts:
    """Return what the configurator needs to know about an operator."""
    from fedipanel.storage.service import assigned_buckets

    key = ensure_deploy_key(operator)
    assigned = {
        service: AssignedS3(row.endpoint, row.region, row.bucket, row.public_url)
        for service, row in assigned_buckets(operator.id).items()
    }
    return OperatorFacts(
        slug=operator.slug or f"operator-{operator.id}",
        ssh_public_key=key.public_key,
        assigned_storage=assigned,
    )


def recorded_resources(operator_id: int) -> list[Resource]:
    """Return the resources FediPanel recorded for the operator."""
    rows = db.session.scalars(
        select(RecordedResource).where(RecordedResource.operator_id == operator_id)
    )
    return [Resource(kind=row.kind, name=row.name, spec=row.spec) for row in rows]


def plan_for(operator: User) -> PlannedChange | None:
    """Return the plan for the operator's current configuration, or None before the first save."""
    row = current_version(operator.id)
    if row is None:
        return None
    config = Configuration.model_validate(row.data)
    return plan_version(operator, config, row.version)


def plan_version(operator: User, config: Configuration, version: int) -> PlannedChange:
    """Plan one configuration version against what is recorded for the operator."""
    try:
        state = desired_state(config, operator_facts(operator), provider_settings())
    except ValueError as exc:
        raise PlanError(f"The provider's settings cannot be used: {exc}") from None
    # Nothing is deleted unless asked: a service's data stays unless keepData is false.
    keep = [name for name in SERVICE_NAMES if config.service(name).keepData]
    plan = plan_changes(state.resources(), recorded_resources(operator.id), keep)
    return PlannedChange(config=config, version=version, state=state, plan=plan)
