"""Finish rekeying: once the rest of the deployment succeeded, retire the operator's old keys.

The sequence keeps a working key at every moment. Before this step the deployment authorized
both the current and the pending deploy key on every machine while connecting with the current
one, and gave each service a new Garage key (same buckets, probed) while the old one stayed valid.
Here the panel first logs in to every machine with the new deploy key; only then does the new key
become the operator's (the old private key is gone from the panel) and the old Garage keys are
deleted. The old public key leaves the machines' authorized keys at the operator's next
deployment (nothing can use it any more: its private half is gone). A failure anywhere before
leaves the old keys working and the new ones pending: the next deployment carries on from there.
"""

from __future__ import annotations

from fedipanel.core.text import N_
from fedipanel.db import db
from fedipanel.deployments.systems import SystemKey
from fedipanel.keys.deploy_keys import deploy_key, next_private_key_pem, promote_next_key
from fedipanel.providers import ssh_command
from fedipanel.providers.garage import provision
from fedipanel.providers.garage.admin import GarageError
from fedipanel.storage import records as storage
from jobs.runner import StepFailed
from jobs.steps.context import DeployContext


def finish(ctx: DeployContext) -> None:
    """Promote a pending deploy key once it is proven, then revoke replaced Garage keys."""
    key = deploy_key(ctx.operator.id)
    retired = storage.retired_keys(ctx.operator.id)
    if key.next_public_key is None and not retired:
        return
    ctx.progress.phase(N_("Retiring the old keys"), 97)
    if key.next_public_key is not None:
        _prove_new_deploy_key(ctx, next_private_key_pem(key))
        promote_next_key(key)
        db.session.commit()
        ctx.progress.log(
            ["deploy key replaced: the old key's private half is deleted from the panel"]
        )
    for row in retired:
        _revoke(ctx, row.service, str(row.previous_name), str(row.previous_access_key_id))
        storage.forget_previous(row)


def _prove_new_deploy_key(ctx: DeployContext, pem: str) -> None:
    if ctx.is_simulated(SystemKey.SECRETS):
        ctx.simulate("new deploy key accepted by every machine")
        return
    for name, host in ctx.hosts.items():
        if not host.host_public_key:
            raise StepFailed(f"no SSH host key is recorded for machine {name}; cannot trust it")
        try:
            ran = ssh_command.run(
                host.host,
                "true",
                private_key_pem=pem,
                host_public_key=host.host_public_key,
                port=ctx.settings.vm_ssh_port,
                user=host.user or "root",
            )
            reason = None if ran.returncode == 0 else ran.reason()
        except ssh_command.SshError as exc:
            reason = str(exc)
        if reason is not None:
            raise StepFailed(
                f"machine {name} does not accept the new deploy key ({reason}); "
                "the old keys stay in use"
            )
        ctx.progress.log([f"{name}: the new deploy key logs in"])


def _revoke(ctx: DeployContext, service: str, name: str, key_id: str) -> None:
    garage = ctx.settings.garage
    if ctx.is_simulated(SystemKey.STORAGE) or garage is None:
        ctx.simulate(f"old key {name} of {service} deleted")
        return
    try:
        provision.delete_key(garage.admin(), name)
    except GarageError as exc:
        raise StepFailed(f"S3 storage: deleting the old key {name} failed: {exc}") from None
    ctx.progress.log([f"{service}: old key {name} ({key_id}) deleted"])
