"""The deploy job: plan -> quota -> machines -> buckets -> DNS -> secrets -> nixops4 ->
administrator accounts -> keep and remove what disabled services leave -> checks -> PeerTube's
LDAP plugin -> retire the keys a rekeying replaced."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select

from fedipanel.accounts.models import User
from fedipanel.configurations.models import ConfigurationVersion
from fedipanel.core.configuration import Configuration
from fedipanel.core.planner import Action, Change
from fedipanel.core.text import N_
from fedipanel.db import db
from fedipanel.deployments.models import Deployment
from fedipanel.deployments.progress import Progress
from fedipanel.deployments.systems import System, nixops4_refusal, simulated_systems
from fedipanel.identity import sync as directory_sync
from fedipanel.identity.settings import settings_row
from fedipanel.keys.dkim import ensure_dkim_key
from fedipanel.parameters import pins
from fedipanel.planning.plans import PlanError, PlannedDeployment, plan_version
from fedipanel.resources.records import forget
from fedipanel.rollouts import wakeups as rollout_wakeups
from fedipanel.settings import effective
from fedipanel.settings.effective import Settings
from jobs.runner import StepFailed, job_context, run_job
from jobs.steps import checks, directory, dns, machines, nixops, rekey, secrets, storage, usage
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
    try:
        run_job(deployment_id, lambda progress: deploy(deployment_id, progress))
    finally:
        with job_context():
            # A rollout waits for its updates: tell it this one ended.
            rollout_wakeups.after_deployment(deployment_id)


def deploy(deployment_id: int, progress: Progress) -> None:
    """Run every step of one deployment in order."""
    deployment = db.session.get(Deployment, deployment_id)
    if deployment is None:
        raise StepFailed(f"deployment {deployment_id} does not exist")
    operator = db.session.get(User, deployment.operator_id)
    if operator is None:
        raise StepFailed("the operator account no longer exists")
    settings = effective.current()
    simulated = simulated_systems(settings)
    check_simulation_allowed(settings, simulated, progress)
    planned = plan(deployment, operator, settings, progress)
    systems = frozenset(s.key for s in simulated)
    ctx = DeployContext(
        deployment, operator, progress, settings, systems, planned.state, planned.plan
    )
    try:
        machines.check_quota(ctx)
        with machines.returning_unused(ctx):
            machines.provision(ctx)
            storage.create(ctx)
            dns.create(ctx)
        secrets.deliver(ctx)
        nixops.apply(ctx)
        checks.apply_admins(ctx)
        machines.keep(ctx)
        remove_unused(ctx)
        checks.check_services(ctx)
        directory.wire_peertube(ctx)
        rekey.finish(ctx)
        nixops.record_configurations(ctx)
        queue_directory_sync(ctx)
    finally:
        # What exists is what is used, whether the deployment succeeded or stopped part-way.
        usage.record(ctx)


def check_simulation_allowed(
    settings: Settings, simulated: list[System], progress: Progress
) -> None:
    """Refuse to simulate anything when the provider forbade it; say what is simulated."""
    if simulated and not settings.simulate:
        names = "; ".join(f"{s.label}: configure {s.how_to_configure}" for s in simulated)
        raise StepFailed(
            "Simulators are disabled (FEDIPANEL_SIMULATE=0) and these systems are not "
            f"configured: {names}. Nothing was changed."
        )
    refusal = nixops4_refusal(settings)
    if refusal is not None:  # settings may have changed since the deployment was queued
        raise StepFailed(refusal)
    progress.mark_simulated([s.label for s in simulated])
    if simulated:
        labels = ", ".join(s.label for s in simulated)
        progress.log([f"{SIMULATED} not configured by the provider, simulated: {labels}"])


def plan(
    deployment: Deployment, operator: User, settings: Settings, progress: Progress
) -> PlannedDeployment:
    """Plan the deployment's configuration version against what exists now."""
    progress.phase(N_("Planning"), 2)
    row = db.session.scalar(
        select(ConfigurationVersion).where(
            ConfigurationVersion.operator_id == operator.id,
            ConfigurationVersion.version == deployment.config_version,
        )
    )
    if row is None:
        raise StepFailed(f"configuration version {deployment.config_version} is gone")
    config = Configuration.model_validate(row.data)
    if settings.mail is not None:
        # The key signs the services' mail and its public half is one of the DNS records.
        ensure_dkim_key(operator.id, config.domain)
        db.session.commit()
    try:
        planned = plan_version(operator, config, row.version, settings)
    except PlanError as exc:
        raise StepFailed(str(exc)) from None
    deployment.plan = planned.plan.as_json()
    # From the first deployment on, the provider's later size changes reach this operator only
    # through a rollout (one deployment per operator runs at a time, so this cannot race).
    pins.pin_sizes(operator.id, settings.sizes, replace=False)
    if settings.proxmox is not None:
        pins.pin_proxmox(operator.id, settings.proxmox.cluster, replace=False)
    db.session.commit()
    progress.log(
        [f"{c.action} {c.kind} {c.name}" for c in planned.plan.changes if c.action != Action.KEEP]
        or ["Nothing to change: re-applying the current configuration."]
    )
    return planned


def remove_unused(ctx: DeployContext) -> None:
    """Remove what the plan deletes, now that the rest succeeded."""
    deletions = ctx.changes(*REMOVERS, "ssh_key", "mail", "nixos", actions=(Action.DELETE,))
    if not deletions:
        return
    ctx.progress.phase(N_("Removing what is no longer used"), 92)
    for change in deletions:
        remover = REMOVERS.get(change.kind)
        if remover is not None:
            remover(ctx, change)
        forget(ctx.operator.id, change.kind, change.name)


def queue_directory_sync(ctx: DeployContext) -> None:
    """Bring the services' accounts in line with the operator's directory, now they run."""
    if settings_row(ctx.operator.id) is None:
        return
    row = directory_sync.queue_sync(ctx.operator.id, f"deployment {ctx.deployment.id}")
    ctx.progress.log([f"Directory sync {row.id} queued: see the Identity page."])
