"""The account deletion job: remove everything, check with the systems, close the account."""

from __future__ import annotations

from fedipanel.accounts.models import User
from fedipanel.core.configurator import DesiredState
from fedipanel.core.planner import Action, plan_changes
from fedipanel.core.text import N_
from fedipanel.db import db
from fedipanel.deployments.deletions import close_account, record_leftovers
from fedipanel.deployments.models import Deployment
from fedipanel.deployments.progress import Progress
from fedipanel.deployments.systems import simulated_systems
from fedipanel.keys.deploy_keys import MissingDeployKey, deploy_key
from fedipanel.resources.records import recorded_resources
from fedipanel.settings import effective
from jobs.deploy import remove_unused
from jobs.runner import StepFailed, run_job
from jobs.steps import leftovers
from jobs.steps.context import SIMULATED, DeployContext


def run_account_deletion(deployment_id: int) -> None:
    """Delete the account of the deletion row's operator, with everything it owns."""
    run_job(deployment_id, lambda progress: delete_account(deployment_id, progress))


def delete_account(deployment_id: int, progress: Progress) -> None:
    """Remove every resource (nothing is kept), check nothing is left, then close the account."""
    deletion = db.session.get(Deployment, deployment_id)
    operator = db.session.get(User, deletion.operator_id) if deletion else None
    if deletion is None or operator is None:
        raise StepFailed("the account no longer exists")
    settings = effective.current()
    simulated = simulated_systems(settings)
    progress.mark_simulated([s.label for s in simulated])
    if simulated:
        labels = ", ".join(s.label for s in simulated)
        progress.log([f"{SIMULATED} not configured by the provider, simulated: {labels}"])
    progress.phase(N_("Planning the removal"), 2)
    # Nothing is kept: every recorded resource goes (pre-configured buckets are left as they
    # are; only their assignment goes with the account).
    plan = plan_changes([], recorded_resources(operator.id), keep_data=())
    progress.log(
        [f"{c.action} {c.kind} {c.name}" for c in plan.changes if c.action == Action.DELETE]
        or ["Nothing was ever created for this account."]
    )
    try:
        public_key = deploy_key(operator.id).public_key
    except MissingDeployKey:
        public_key = ""
    state = DesiredState(slug=operator.deployment_name, ssh_public_key=public_key, machines={})
    systems = frozenset(s.key for s in simulated)
    ctx = DeployContext(deletion, operator, progress, settings, systems, state, plan)
    remove_unused(ctx)
    left = leftovers.find(ctx)
    if left:
        record_leftovers(deployment_id, left)
        raise StepFailed(
            f"still there: {'; '.join(left)}. The account stays disabled; start the deletion "
            "again to continue."
        )
    progress.phase(N_("Closing the account"), 97)
    close_account(
        deployment_id,
        closing_lines=[
            "== Closing the account",
            "account, tokens, configurations and logs deleted",
        ],
        retain_days=int(settings.accounting_retention_days),
    )
