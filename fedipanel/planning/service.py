"""Glue between stored data and the pure configurator and planner."""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app
from sqlalchemy import select

from fedipanel.accounts.models import Role, User
from fedipanel.configurations.schema import Configuration
from fedipanel.configurations.service import current_version
from fedipanel.configurator import DesiredState, desired_state
from fedipanel.configurator.resources import (
    DEFAULT_SIZES,
    MachineSize,
    OperatorFacts,
    ProviderSettings,
    Resource,
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
        sizes=sizes,
        acme_email=acme_email or "hostmaster@localhost.localdomain",
        state_version=str(config["STATE_VERSION"]),
        dns_ttl=int(config["DNS_TTL"]),
        smtp=smtp,
    )


def operator_facts(operator: User) -> OperatorFacts:
    """Return what the configurator needs to know about an operator."""
    key = ensure_deploy_key(operator)
    return OperatorFacts(
        slug=operator.slug or f"operator-{operator.id}", ssh_public_key=key.public_key
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
    plan = plan_changes(state.resources(), recorded_resources(operator.id))
    return PlannedChange(config=config, version=version, state=state, plan=plan)
