"""The deploy job: plan -> quota -> machines -> buckets -> DNS -> secrets -> nixops4 -> checks."""

from __future__ import annotations

from collections.abc import Callable

from flask import current_app
from sqlalchemy import select

from fedipanel.accounts.models import User
from fedipanel.configurations.models import ConfigurationVersion
from fedipanel.configurations.schema import Configuration
from fedipanel.deployments.models import Deployment
from fedipanel.deployments.progress import Progress
from fedipanel.deployments.resources import forget
from fedipanel.extensions import db
from fedipanel.planning import Change
from fedipanel.planning.service import PlanError, plan_version
from fedipanel.providers.systems import simulated_systems
from jobs.runner import StepFailed, run_job
from jobs.steps import dns, machines, nixops, secrets, storage
from jobs.steps.context import SIMULATED, DeployContext

# Who removes a resource of each kind once the rest of the deployment succeeded.
REMOVERS: dict[str, Callable[[DeployContext, Change], None]] = {
    "machine": machines.remove,
    "s3_bucket": storage.remove,
    "s3_key": storage.remove,
    "dns_record": dns.remove,
}


def run_deployment(deployment_id: int) -> None:
    """Deploy the configuration version recorded on the deployment row."""
    run_job(deployment_id, lambda progress: deploy(deployment_id, progress))


def deploy(deployment_id: int, progress: Progress) -> None:
    """Run every step of one deployment in order."""
    ctx = _context(deployment_id, progress)
    check_simulation_allowed(ctx)
    plan(ctx)
    machines.check_quota(ctx)
    machines.provision(ctx)
    storage.create(ctx)
    dns.create(ctx)
    secrets.deliver(ctx)
    nixops.apply(ctx)
    remove_unused(ctx)
    nixops.check_services(ctx)
    nixops.record_configurations(ctx)


def _context(deployment_id: int, progress: Progress) -> DeployContext:
    deployment = db.session.get(Deployment, deployment_id)
    if deployment is None:
        raise StepFailed(f"deployment {deployment_id} does not exist")
    operator = db.session.get(User, deployment.operator_id)
    if operator is None:
        raise StepFailed("the operator account no longer exists")
    config = current_app.config
    simulated = {system.key for system in simulated_systems(config)}
    return DeployContext(deployment, operator, progress, config, simulated)


def check_simulation_allowed(ctx: DeployContext) -> None:
    missing = simulated_systems(ctx.config)
    if missing and not ctx.config["SIMULATE"]:
        names = "; ".join(f"{s.label}: configure {s.how_to_configure}" for s in missing)
        raise StepFailed(
            "Simulators are disabled (FEDIPANEL_SIMULATE=0) and these systems are not "
            f"configured: {names}. Nothing was changed."
        )
    ctx.progress.mark_simulated([s.label for s in missing])
    if missing:
        labels = ", ".join(s.label for s in missing)
        ctx.progress.log([f"{SIMULATED} not configured by the provider, simulated: {labels}"])


def plan(ctx: DeployContext) -> None:
    ctx.progress.phase("Planning", 2)
    row = db.session.scalar(
        select(ConfigurationVersion).where(
            ConfigurationVersion.operator_id == ctx.operator.id,
            ConfigurationVersion.version == ctx.deployment.config_version,
        )
    )
    if row is None:
        raise StepFailed(f"configuration version {ctx.deployment.config_version} is gone")
    try:
        planned = plan_version(ctx.operator, Configuration.model_validate(row.data), row.version)
    except PlanError as exc:
        raise StepFailed(str(exc)) from None
    ctx.state, ctx.plan = planned.state, planned.plan
    ctx.deployment.plan = planned.plan.as_json()
    db.session.commit()
    ctx.progress.log(
        [f"{c.action} {c.kind} {c.name}" for c in planned.plan.changes if c.action != "keep"]
        or ["Nothing to change: re-applying the current configuration."]
    )


def remove_unused(ctx: DeployContext) -> None:
    deletions = ctx.changes(*REMOVERS, "ssh_key", "mail", "nixos", actions=("delete",))
    if not deletions:
        return
    ctx.progress.phase("Removing what is no longer used", 90)
    for change in deletions:
        remover = REMOVERS.get(change.kind)
        if remover is not None:
            remover(ctx, change)
        forget(ctx.operator.id, change.kind, change.name)
