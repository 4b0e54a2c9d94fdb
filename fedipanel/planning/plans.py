"""Glue between stored data and the pure configurator and planner."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

from sqlalchemy import select

from fedipanel.accounts.models import Role, User
from fedipanel.configurations.versions import current_version
from fedipanel.core.configuration import Configuration
from fedipanel.core.configurator import DesiredState, desired_state
from fedipanel.core.dns_records import refusal
from fedipanel.core.planner import Plan, plan_changes
from fedipanel.core.registry import SERVICE_NAMES
from fedipanel.core.resources import (
    AssignedS3,
    DkimRecord,
    MachineSize,
    OperatorFacts,
    ProviderSettings,
    S3Settings,
)
from fedipanel.db import db
from fedipanel.identity.settings import saved_directory
from fedipanel.keys import dkim
from fedipanel.keys.deploy_keys import MissingDeployKey, deploy_key
from fedipanel.machines import pool
from fedipanel.parameters import pins
from fedipanel.resources.records import recorded_resources
from fedipanel.services.passwords import generations
from fedipanel.settings.effective import Settings
from fedipanel.storage.records import assigned_buckets

# Problems in these settings make every plan impossible; others only stop what uses them.
_BLOCKING = ("sizes", "mail", "dns:records")


class PlanError(Exception):
    """The provider's settings do not allow planning; the message says what to fix."""

    loc: tuple[str, ...] = ("settings",)


class DomainNotServed(PlanError):
    """The operator's domain is in no zone of the provider's DNS server."""

    loc = ("domain",)


@dataclass(frozen=True)
class PlannedDeployment:
    """Everything a deployment of one configuration version would do."""

    config: Configuration
    version: int
    state: DesiredState
    plan: Plan


def provider_settings(
    settings: Settings, sizes: Mapping[str, MachineSize] | None = None
) -> ProviderSettings:
    """Return the provider's choices the configurator needs (no secrets).

    `sizes`: the operator's pinned machine sizes (default: the provider's current ones).
    """
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
        sizes=settings.sizes if sizes is None else sizes,
        acme_email=acme_email or "hostmaster@localhost.localdomain",
        state_version=settings.state_version,
        dns_ttl=settings.dns_ttl,
        smtp=settings.mail.relay() if settings.mail else None,
        mail_records=settings.mail_records,
    )


def operator_facts(operator: User, domain: str) -> OperatorFacts:
    """Return what the configurator needs to know about an operator using `domain`."""
    try:
        key = deploy_key(operator.id)
    except MissingDeployKey as exc:
        raise PlanError(str(exc)) from None
    assigned = {
        service: AssignedS3(row.endpoint, row.region, row.bucket, row.public_url)
        for service, row in assigned_buckets(operator.id).items()
    }
    # Before the first deployment there is no DKIM key yet: it will get the first selector.
    dkim_key = dkim.dkim_key(operator.id, domain)
    return OperatorFacts(
        slug=operator.deployment_name,
        ssh_public_key=key.public_key,
        next_ssh_public_key=key.next_public_key,
        assigned_storage=assigned,
        dkim_selector=dkim_key.selector if dkim_key else dkim.SELECTOR,
        admin_password_generations=generations(operator.id),
        directory=saved_directory(operator.id),
    )


def dkim_record(operator: User, domain: str) -> DkimRecord:
    """Return where the domain's DKIM key is published, with its value once it exists."""
    key = dkim.dkim_key(operator.id, domain)
    if key is None:
        return DkimRecord(f"{dkim.SELECTOR}._domainkey.{domain}", None)
    return DkimRecord(dkim.record_name(key), dkim.txt_value(key))


def plan_for(operator: User, settings: Settings) -> PlannedDeployment | None:
    """Return the plan for the operator's current configuration, or None before the first save."""
    row = current_version(operator.id)
    if row is None:
        return None
    return plan_version(operator, Configuration.model_validate(row.data), row.version, settings)


def plan_version(
    operator: User,
    config: Configuration,
    version: int,
    settings: Settings,
    *,
    sizes: Mapping[str, MachineSize] | None = None,
) -> PlannedDeployment:
    """Plan one configuration version against what is recorded for the operator.

    `sizes`: machine sizes to plan with (default: the operator's pinned ones).
    """
    facts = operator_facts(operator, config.domain)
    if settings.mail is not None:
        facts = replace(facts, dkim=dkim_record(operator, config.domain))
    if sizes is None:
        sizes = pins.sizes_for(operator.id, settings.sizes)
    try:
        state = desired_state(config, facts, provider_settings(settings, sizes))
    except ValueError as exc:
        raise PlanError(f"The provider's settings cannot be used: {exc}") from None
    if settings.dns is not None:
        names = [str(r.spec["host"]) for r in state.dns_records]
        server = settings.dns.connection.server
        refused = refusal(config.domain, names, settings.dns.zones, server)
        if refused:
            raise DomainNotServed(refused)
    # Nothing is deleted unless asked: a service's data stays unless keepData is false.
    keep = [name for name in SERVICE_NAMES if config.service(name).keepData]
    plan = plan_changes(
        state.resources(), recorded_resources(operator.id), keep, pool.machines_of(operator.id)
    )
    return PlannedDeployment(config=config, version=version, state=state, plan=plan)
