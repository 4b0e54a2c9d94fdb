"""Glue between stored data and the pure configurator and planner."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from fedipanel.accounts.models import Role, User
from fedipanel.configurations.versions import current_version
from fedipanel.core.configuration import Configuration
from fedipanel.core.configurator import DesiredState, desired_state
from fedipanel.core.planner import Plan, plan_changes
from fedipanel.core.registry import SERVICE_NAMES
from fedipanel.core.resources import AssignedS3, OperatorFacts, ProviderSettings, S3Settings
from fedipanel.db import db
from fedipanel.identity.settings import saved_directory
from fedipanel.keys.deploy_keys import MissingDeployKey, deploy_key
from fedipanel.machines import pool
from fedipanel.resources.records import recorded_resources
from fedipanel.settings.effective import Settings
from fedipanel.storage.records import assigned_buckets

# Problems in these settings make every plan impossible; others only stop what uses them.
_BLOCKING = ("sizes", "mail")


class PlanError(Exception):
    """The provider's settings do not allow planning; the message says what to fix."""


@dataclass(frozen=True)
class PlannedDeployment:
    """Everything a deployment of one configuration version would do."""

    config: Configuration
    version: int
    state: DesiredState
    plan: Plan


def provider_settings(settings: Settings) -> ProviderSettings:
    """Return the provider's choices the configurator needs (no secrets)."""
    for name in _BLOCKING:
        if name in settings.problems:
            raise PlanError(f"The provider's settings cannot be used: {settings.problems[name]}")
    acme_email = settings.acme_email or db.session.scalar(
        select(User.email).where(User.role == Role.PROVIDER).order_by(User.id).limit(1)
    )
    garage = settings.garage
    s3 = None
    if garage is not None:
        quota = garage.quota_gib * 1024**3 if garage.quota_gib else None
        s3 = S3Settings(garage.endpoint, garage.region, garage.public_url, quota)
    return ProviderSettings(
        s3=s3,
        sizes=settings.sizes,
        acme_email=acme_email or "hostmaster@localhost.localdomain",
        state_version=settings.state_version,
        dns_ttl=settings.dns_ttl,
        smtp=settings.mail.relay() if settings.mail else None,
    )


def operator_facts(operator: User) -> OperatorFacts:
    """Return what the configurator needs to know about an operator."""
    try:
        key = deploy_key(operator.id)
    except MissingDeployKey as exc:
        raise PlanError(str(exc)) from None
    assigned = {
        service: AssignedS3(row.endpoint, row.region, row.bucket, row.public_url)
        for service, row in assigned_buckets(operator.id).items()
    }
    return OperatorFacts(
        slug=operator.deployment_name,
        ssh_public_key=key.public_key,
        assigned_storage=assigned,
        directory=saved_directory(operator.id),
    )


def plan_for(operator: User, settings: Settings) -> PlannedDeployment | None:
    """Return the plan for the operator's current configuration, or None before the first save."""
    row = current_version(operator.id)
    if row is None:
        return None
    return plan_version(operator, Configuration.model_validate(row.data), row.version, settings)


def plan_version(
    operator: User, config: Configuration, version: int, settings: Settings
) -> PlannedDeployment:
    """Plan one configuration version against what is recorded for the operator."""
    try:
        state = desired_state(config, operator_facts(operator), provider_settings(settings))
    except ValueError as exc:
        raise PlanError(f"The provider's settings cannot be used: {exc}") from None
    # Nothing is deleted unless asked: a service's data stays unless keepData is false.
    keep = [name for name in SERVICE_NAMES if config.service(name).keepData]
    plan = plan_changes(
        state.resources(), recorded_resources(operator.id), keep, pool.machines_of(operator.id)
    )
    return PlannedDeployment(config=config, version=version, state=state, plan=plan)
