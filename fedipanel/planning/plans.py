"""Glue between stored data and the pure configurator and planner."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import select

from fedipanel.accounts.models import Role, User
from fedipanel.configurations.versions import current_version
from fedipanel.core.configuration import Configuration
from fedipanel.core.configurator import DesiredState, desired_state
from fedipanel.core.directory import Directory
from fedipanel.core.dns_records import refusal
from fedipanel.core.planner import Plan, plan_changes
from fedipanel.core.registry import SERVICE_NAMES
from fedipanel.core.resources import (
    AssignedS3,
    DkimRecord,
    MachineSize,
    OperatorFacts,
    ProviderSettings,
    Resource,
    S3Settings,
)
from fedipanel.db import db
from fedipanel.identity.settings import saved_directories, saved_directory
from fedipanel.keys import dkim
from fedipanel.keys.deploy_keys import MISSING_KEY, MissingDeployKey, deploy_key, deploy_keys_of
from fedipanel.keys.models import DeployKey, DkimKey
from fedipanel.machines import pool
from fedipanel.parameters import pins
from fedipanel.resources.records import recorded_resources, recorded_resources_of
from fedipanel.services.passwords import generations, generations_of
from fedipanel.settings.effective import Settings
from fedipanel.storage.models import AssignedBucket
from fedipanel.storage.records import assigned_buckets, assigned_buckets_of

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


def acme_email_of(settings: Settings) -> str:
    """Return the ACME account's email: the setting, else the first provider's."""
    found = settings.acme_email or db.session.scalar(
        select(User.email).where(User.role == Role.PROVIDER).order_by(User.id).limit(1)
    )
    return found or "hostmaster@localhost.localdomain"


def provider_settings(
    settings: Settings,
    sizes: Mapping[str, MachineSize] | None = None,
    acme_email: str | None = None,
) -> ProviderSettings:
    """Return the provider's choices the configurator needs (no secrets).

    `sizes`: the operator's pinned machine sizes (default: the provider's current ones);
    `acme_email`: when the caller read it already.
    """
    for name in _BLOCKING:
        if name in settings.problems:
            raise PlanError(f"The provider's settings cannot be used: {settings.problems[name]}")
    garage = settings.garage
    s3 = None
    if garage is not None:
        quota = garage.quota_gib * 1024**3 if garage.quota_gib else None
        s3 = S3Settings(garage.endpoint, garage.region, garage.public_url, quota)
    return ProviderSettings(
        s3=s3,
        sizes=settings.sizes if sizes is None else sizes,
        acme_email=acme_email or acme_email_of(settings),
        state_version=settings.state_version,
        dns_ttl=settings.dns_ttl,
        smtp=settings.mail.relay() if settings.mail else None,
        mail_records=settings.mail_records,
    )


@dataclass(frozen=True)
class Prefetched:
    """What planning reads about each of many operators, read for all of them at once."""

    keys: Mapping[int, DeployKey]
    assigned: Mapping[int, Mapping[str, AssignedBucket]]
    dkim_keys: Mapping[tuple[int, str], DkimKey]
    generations: Mapping[int, Mapping[str, int]]
    directories: Mapping[int, Directory | None]
    recorded: Mapping[int, list[Resource]]
    pooled: Mapping[int, set[str]]
    pinned_sizes: Mapping[int, Mapping[str, Any]]
    acme_email: str

    @classmethod
    def load(cls, operator_ids: list[int], settings: Settings) -> Prefetched:
        """Read everything `plan_version` needs about these operators, a query per kind."""
        return cls(
            keys=deploy_keys_of(operator_ids),
            assigned=assigned_buckets_of(operator_ids),
            dkim_keys=dkim.dkim_keys_of(operator_ids),
            generations=generations_of(operator_ids),
            directories=saved_directories(operator_ids),
            recorded=recorded_resources_of(operator_ids),
            pooled=pool.machines_of_many(operator_ids),
            pinned_sizes=pins.pinned_sizes_of(operator_ids),
            acme_email=acme_email_of(settings),
        )


def operator_facts(
    operator: User, domain: str, prefetched: Prefetched | None = None
) -> OperatorFacts:
    """Return what the configurator needs to know about an operator using `domain`."""
    if prefetched is None:
        try:
            key = deploy_key(operator.id)
        except MissingDeployKey as exc:
            raise PlanError(str(exc)) from None
        buckets: Mapping[str, AssignedBucket] = assigned_buckets(operator.id)
        dkim_key = dkim.dkim_key(operator.id, domain)
        made: Mapping[str, int] = generations(operator.id)
        directory = saved_directory(operator.id)
    else:
        if operator.id not in prefetched.keys:
            raise PlanError(MISSING_KEY)
        key = prefetched.keys[operator.id]
        buckets = prefetched.assigned.get(operator.id, {})
        dkim_key = prefetched.dkim_keys.get((operator.id, domain.lower()))
        made = prefetched.generations.get(operator.id, {})
        directory = prefetched.directories.get(operator.id)
    assigned = {
        service: AssignedS3(row.endpoint, row.region, row.bucket, row.public_url)
        for service, row in buckets.items()
    }
    # Before the first deployment there is no DKIM key yet: it will get the first selector.
    return OperatorFacts(
        slug=operator.deployment_name,
        ssh_public_key=key.public_key,
        next_ssh_public_key=key.next_public_key,
        assigned_storage=assigned,
        dkim_selector=dkim_key.selector if dkim_key else dkim.SELECTOR,
        admin_password_generations=made,
        directory=directory,
    )


def dkim_record(operator: User, domain: str, key: DkimKey | bool | None = False) -> DkimRecord:
    """Return where the domain's DKIM key is published, with its value once it exists
    (`key`: the operator's key when the caller read it already)."""
    if key is False:
        key = dkim.dkim_key(operator.id, domain)
    if not isinstance(key, DkimKey):
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
    prefetched: Prefetched | None = None,
) -> PlannedDeployment:
    """Plan one configuration version against what is recorded for the operator.

    `sizes`: machine sizes to plan with (default: the operator's pinned ones). `prefetched`:
    what was read for many operators at once (a rollout plans them all).
    """
    facts = operator_facts(operator, config.domain, prefetched)
    if settings.mail is not None:
        key = (
            False
            if prefetched is None
            else prefetched.dkim_keys.get((operator.id, config.domain.lower()))
        )
        facts = replace(facts, dkim=dkim_record(operator, config.domain, key))
    if sizes is None:
        sizes = (
            pins.sizes_for(operator.id, settings.sizes)
            if prefetched is None
            else pins.sizes_with_pin(prefetched.pinned_sizes.get(operator.id), settings.sizes)
        )
    try:
        state = desired_state(
            config,
            facts,
            provider_settings(settings, sizes, prefetched.acme_email if prefetched else None),
        )
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
    if prefetched is None:
        recorded, pooled = recorded_resources(operator.id), pool.machines_of(operator.id)
    else:
        recorded = prefetched.recorded.get(operator.id, [])
        pooled = prefetched.pooled.get(operator.id, set())
    plan = plan_changes(state.resources(), recorded, keep, pooled)
    return PlannedDeployment(config=config, version=version, state=state, plan=plan)
