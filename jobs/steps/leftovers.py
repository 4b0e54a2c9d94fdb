"""Ask the systems themselves whether anything of an operator is left after removing it all."""

from __future__ import annotations

from fedipanel.audit import log as audit_log
from fedipanel.audit.log import Action
from fedipanel.core.buckets import bucket_name
from fedipanel.core.registry import SERVICES
from fedipanel.core.text import N_
from fedipanel.machines import pool
from fedipanel.providers.garage.admin import GarageError
from fedipanel.providers.proxmox import provision
from fedipanel.providers.proxmox.client import Client, ProxmoxError
from jobs.runner import StepFailed
from jobs.steps.context import DeployContext


def find(ctx: DeployContext) -> list[str]:
    """Return, in plain words, everything of the operator that still exists anywhere."""
    ctx.progress.phase(N_("Checking that nothing is left"), 92)
    slug, found = ctx.slug, []
    proxmox = ctx.settings.proxmox
    if proxmox is not None:
        try:
            client = Client(proxmox.connection, ctx.settings.proxmox_retry)
            vms = provision.vms_of(client, slug)
        except ProxmoxError as exc:
            raise StepFailed(f"Proxmox could not be asked what is left: {exc.message}") from None
        found += [f"Proxmox VM {vm.vmid} ({vm.name}) on {vm.node}" for vm in vms]
    found += [
        f"pre-deployed VM {vm.address} (machine {vm.machine})"
        for vm in pool.assigned_to(ctx.operator.id)
    ]
    # A VM whose wipe failed still holds the operator's data until the provider clears it.
    set_aside = [
        str(entry.details.get("vm"))
        for entry in audit_log.entries(
            10_000, operator_id=ctx.operator.id, action=Action.POOL_VM_NEEDS_ATTENTION
        )
    ]
    found += [
        f"pre-deployed VM {vm.address}, set aside because its wipe failed ({vm.attention}): "
        "the provider checks it and clears it on the VM pool page"
        for vm in pool.needing_attention(set_aside)
    ]
    garage = ctx.settings.garage
    if garage is not None:
        admin = garage.admin()
        try:
            for service in SERVICES:
                for spec in service.buckets:
                    name = bucket_name(slug, service.name, spec.purpose)
                    if admin.bucket_by_alias(name) is not None:
                        found.append(f"Garage bucket {name}")
                key = f"{slug}-{service.name}"
                if admin.key_by_name(key) is not None:
                    found.append(f"Garage key {key}")
        except GarageError as exc:
            raise StepFailed(f"Garage could not be asked what is left: {exc}") from None
    ctx.progress.log([f"still there: {item}" for item in found] or ["nothing is left"])
    return found
