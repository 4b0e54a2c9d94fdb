"""Secrets: the deploy key and mail settings, and the files the machines need (S3 keys, the
SMTP password, each service's administrator password).

Before nixops4 runs, each machine gets the panel's secrets for its service in one fixed
directory (`/var/lib/fedipanel/keys`, FEDIPANEL_KEYS_DIR), copied over SSH with the operator's
deploy key: root-owned files with mode 0400, unchanged ones untouched, unused ones removed.
The machines get theirs at the same time (FEDIPANEL_PARALLEL_MACHINES at most).
"""

from __future__ import annotations

from fedipanel.core import mail as machine_mail
from fedipanel.core import paths
from fedipanel.core.directory import MASTODON_LDAP_ENV, mastodon_ldap_env
from fedipanel.core.text import N_
from fedipanel.db import db
from fedipanel.deployments.systems import SystemKey
from fedipanel.identity.settings import saved_connection
from fedipanel.keys import dkim
from fedipanel.keys.deploy_keys import deploy_key, private_key_pem
from fedipanel.providers.ssh_secrets import DeliveryError
from fedipanel.providers.ssh_secrets import deliver as ssh_deliver
from fedipanel.services.passwords import ensure_password
from fedipanel.storage import records as storage
from jobs.runner import StepFailed
from jobs.steps import parallel
from jobs.steps.context import DeployContext


def deliver(ctx: DeployContext) -> None:
    ctx.progress.phase(N_("Delivering secrets"), 45)
    for change in ctx.changes("ssh_key", "mail"):
        ctx.record(change, simulated=change.kind != "ssh_key")
    wanted = {name: files_for(ctx, machine.service) for name, machine in ctx.state.machines.items()}
    db.session.commit()  # the admin passwords made for new services
    if ctx.is_simulated(SystemKey.SECRETS):
        for name in ctx.hosts:
            names = ", ".join(sorted(wanted.get(name, {}))) or "no files"
            ctx.simulate(f"secrets copied to {name} ({directory(ctx)}, mode 0400): {names}")
        return
    pem = private_key_pem(deploy_key(ctx.operator.id))
    trusted = ctx.host_keys(list(wanted))

    def work(lane: parallel.Lane, files: dict[str, str]) -> None:
        host = ctx.hosts[lane.name]
        try:
            result = ssh_deliver(
                host.host,
                files,
                private_key_pem=pem,
                host_public_key=trusted[lane.name],
                port=ctx.settings.vm_ssh_port,
                user=host.user or "root",
                directory=directory(ctx),
            )
        except DeliveryError as exc:
            raise StepFailed(f"secrets could not reach {lane.name}: {exc}") from None
        parts = [
            f"{label} {', '.join(names)}"
            for label, names in (
                ("written", result.written),
                ("unchanged", result.unchanged),
                ("removed", result.removed),
            )
            if names
        ]
        lane.say("; ".join(parts) or "none")

    outcomes = parallel.run_each(
        ctx, list(wanted.items()), work, prefix=lambda name: f"secrets on {name}: "
    )
    failure = parallel.first_failure(outcomes)
    if failure is not None:
        raise failure


def directory(ctx: DeployContext) -> str:
    """Return the directory on the machines the secrets go to."""
    return ctx.settings.keys_dir


def files_for(ctx: DeployContext, service: str) -> dict[str, str]:
    """Return the secret files one service's machine needs (name in the directory -> content)."""
    files: dict[str, str] = {}
    assigned = storage.assigned_bucket(ctx.operator.id, service)
    if assigned is not None:
        creds = storage.assigned_credentials(assigned)
        key: tuple[str, str] | None = (creds.access_key_id, creds.secret_access_key)
    elif not ctx.is_simulated(SystemKey.STORAGE):
        key = storage.stored_key(ctx.operator.id, service)
    else:
        key = None
    if key is not None:
        ctx.progress.hide(key[1])
        name = _name(paths.s3_env_file(service))
        files[name] = f"AWS_ACCESS_KEY_ID={key[0]}\nAWS_SECRET_ACCESS_KEY={key[1]}\n"
    files.update(mail_files(ctx))
    password = ensure_password(ctx.operator.id, service)
    ctx.progress.hide(password)
    files[_name(paths.admin_password_file(service))] = password
    directory = saved_connection(ctx.operator.id)
    if directory is not None and service == "mastodon":
        ctx.progress.hide(directory.password)
        files[_name(MASTODON_LDAP_ENV)] = mastodon_ldap_env(directory.password)
    return files


def mail_files(ctx: DeployContext) -> dict[str, str]:
    """Return Postfix's relay password map and OpenDKIM's private key, when mail is relayed."""
    relay, signing = ctx.state.smtp, ctx.state.dkim
    mail = ctx.settings.mail
    if relay is None or signing is None or mail is None:
        return {}
    key = dkim.dkim_key(ctx.operator.id, signing.domain)
    if key is None or key.selector != signing.selector:
        raise StepFailed(f"the DKIM key of {signing.domain} changed while deploying; deploy again")
    files = {_name(paths.DKIM_PRIVATE_KEY): dkim.private_key_pem(key)}
    if relay.user:
        if not mail.password:
            raise StepFailed(
                "the mail relay has a user name but no password: set it on Settings -> Mail "
                "relay (FEDIPANEL_SMTP_PASSWORD)"
            )
        files[_name(paths.SMTP_SASL_PASSWORDS)] = machine_mail.sasl_passwords(relay, mail.password)
    return files


def _name(path: str) -> str:
    return path.rsplit("/", 1)[1]
