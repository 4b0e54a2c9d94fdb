"""What a rollout changes for one operator, and whether it may run."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from fedipanel.accounts.models import User
from fedipanel.configurations.models import ConfigurationVersion
from fedipanel.core.configuration import Configuration
from fedipanel.core.planner import Action
from fedipanel.core.resources import MachineSize
from fedipanel.core.rollouts import Pin, Proxmox, Sizes
from fedipanel.deployments.pending import deployed_version
from fedipanel.errors import Refused
from fedipanel.keys.deploy_keys import start_rekey
from fedipanel.machines import quota
from fedipanel.parameters import pins
from fedipanel.planning.plans import PlanError, PlannedDeployment, Prefetched, plan_version
from fedipanel.providers.proxmox import settings as proxmox_settings
from fedipanel.providers.proxmox.provision import Cluster
from fedipanel.settings.effective import Settings


@dataclass
class TargetPlan:
    """The plan of one operator's update, or why it cannot run."""

    planned: PlannedDeployment | None
    changes: list[dict[str, Any]] = field(default_factory=list)
    blocked: str | None = None
    skipped: str | None = None


def sizes_with(
    change: dict[str, Any], operator: User, settings: Settings, prefetched: Prefetched | None = None
) -> dict[str, MachineSize]:
    """Return the sizes the operator's machines have once the change is applied."""
    sizes = (
        pins.sizes_for(operator.id, settings.sizes)
        if prefetched is None
        else pins.sizes_with_pin(prefetched.pinned_sizes.get(operator.id), settings.sizes)
    )
    if change.get("kind") == "sizes":
        spec = Sizes.model_validate(change)
        sizes.update({name: size.machine_size() for name, size in spec.sizes.items()})
    return sizes


def plan_target(
    change: dict[str, Any],
    operator: User,
    settings: Settings,
    deployed: ConfigurationVersion | Literal[False] | None = False,
    prefetched: Prefetched | None = None,
    quota_limits: quota.Usage | None = None,
) -> TargetPlan:
    """Plan the rollout's change for the operator's deployed configuration.

    `deployed`, `prefetched` and `quota_limits`: what the caller already read for many operators.
    """
    if not operator.is_active:
        return TargetPlan(None, skipped="the account is disabled")
    if deployed is False:
        deployed = deployed_version(operator.id)
    if deployed is None:
        return TargetPlan(
            None, skipped="nothing deployed yet: the first deployment uses the current parameters"
        )
    config = Configuration.model_validate(deployed.data)
    try:
        planned = plan_version(
            operator,
            config,
            deployed.version,
            settings,
            sizes=sizes_with(change, operator, settings, prefetched),
            prefetched=prefetched,
        )
    except PlanError as exc:
        return TargetPlan(None, blocked=str(exc))
    changes = [_summary(c.as_json()) for c in planned.plan.changes if c.action != Action.KEEP]
    if change.get("kind") == "pin":
        Pin.model_validate(change)
        changes.append({"action": "update", "kind": "flake_lock", "name": "flake inputs"})
    elif change.get("kind") == "proxmox":
        if settings.proxmox is None:
            return TargetPlan(None, skipped="the operator's machines do not come from Proxmox")
        changes.append(_proxmox_summary(change, operator, settings.proxmox.cluster))
    elif change.get("kind") == "rekey":
        changes.extend(_rekey_summary(planned))
    refused = quota.refusals(planned.plan)
    if refused:
        return TargetPlan(planned, changes, blocked="; ".join(refused))
    report = (
        quota.report(operator.id, planned.plan)
        if quota_limits is None
        else quota.report_with(quota_limits, planned.plan)
    )
    if report.problems:
        return TargetPlan(planned, changes, blocked=report.message())
    deletions = planned.plan.deletions()
    if deletions:
        return TargetPlan(
            planned,
            changes,
            blocked="the update would delete data (" + "; ".join(deletions) + "): "
            "the operator deploys it themselves",
        )
    return TargetPlan(planned, changes)


def apply_pins(change: dict[str, Any], operator: User, settings: Settings) -> None:
    """Pin the change's parameters for the operator before their update starts (caller commits).

    A rekey gives the operator a pending deploy key: the update authorizes it beside the old one,
    rotates the S3 keys and retires the old keys once it succeeded (jobs.steps.rekey).
    """
    if change.get("kind") == "sizes":
        pins.pin_sizes(operator.id, sizes_with(change, operator, settings), replace=True)
    elif change.get("kind") == "pin":
        pins.pin_flake_lock(operator.id, Pin.model_validate(change).flakeLock)
    elif change.get("kind") == "proxmox" and settings.proxmox is not None:
        cluster = _cluster_with(change, operator, settings.proxmox.cluster)
        pins.pin_proxmox(operator.id, cluster, replace=True)
    elif change.get("kind") == "rekey":
        start_rekey(operator.id, operator.deployment_name)


def check_change(change: dict[str, Any]) -> None:
    """Refuse a change whose parameters the provider's settings would refuse too."""
    if change.get("kind") != "proxmox":
        return
    given = Proxmox.model_validate(change).parameters.given()
    values = {
        f"PROXMOX_{key.upper()}": ",".join(value) if key == "nodes" else str(value)
        for key, value in given.items()
        if value is not None
    }
    for key, message in proxmox_settings.validate(values).items():
        name = key.removeprefix("PROXMOX_").lower()
        raise Refused(message, loc=("change", "proxmox", "parameters", name))


def _cluster_with(change: dict[str, Any], operator: User, cluster: Cluster) -> Cluster:
    spec = Proxmox.model_validate(change)
    return pins.cluster_with(pins.cluster_for(operator.id, cluster), spec.parameters.given())


def _proxmox_summary(change: dict[str, Any], operator: User, cluster: Cluster) -> dict[str, Any]:
    current = pins.cluster_for(operator.id, cluster)
    wanted = _cluster_with(change, operator, cluster)
    changed = [
        key for key in pins.PROXMOX_PARAMETERS if getattr(current, key) != getattr(wanted, key)
    ]
    words = {
        "template": f"cloned from template {wanted.template}",
        "storage": f"disks on storage {wanted.storage or 'of the template'}",
        "pool": f"in pool {wanted.pool or '(none)'}",
        "nodes": f"on nodes {', '.join(wanted.nodes) or '(any)'}",
    }
    note = (
        "new VMs are " + "; ".join(words[key] for key in changed) + "; existing VMs keep theirs"
        if changed
        else "the same as the operator's current parameters"
    )
    return {
        "action": "update" if changed else "keep",
        "kind": "proxmox",
        "name": "virtualisation parameters",
        "changed": changed,
        "note": note,
    }


def _rekey_summary(planned: PlannedDeployment) -> list[dict[str, Any]]:
    found = [
        {
            "action": "update",
            "kind": "ssh_key",
            "name": "deploy key",
            "note": "a new key is authorized beside the old one; the old one is revoked once "
            "the update succeeded",
        }
    ]
    for resource in planned.state.resources():
        if resource.kind == "s3_key":
            found.append(
                {
                    "action": "update",
                    "kind": "s3_key",
                    "name": resource.name,
                    "note": "replaced by a new key with the same buckets; the old one is "
                    "deleted once the update succeeded",
                }
            )
    return found


def _summary(change: dict[str, Any]) -> dict[str, Any]:
    """Keep what an operator reads in a notice: what happens to which resource, and why."""
    return {
        key: change[key] for key in ("action", "kind", "name", "changed", "note") if key in change
    }
