"""After the checks: PeerTube logs in against the operator's directory through its LDAP plugin.

The plugin is installed and configured with PeerTube's admin API, so its settings (the bind
password among them) travel over HTTPS to the service and never into a NixOS value. A re-run
with equal settings changes nothing. Mastodon's LDAP settings are NixOS options instead.
"""

from __future__ import annotations

from fedipanel.core.directory import (
    PEERTUBE_LDAP_PLUGIN,
    peertube_ldap_problem,
    peertube_ldap_settings,
)
from fedipanel.core.text import N_
from fedipanel.identity.settings import saved_connection
from fedipanel.providers import peertube_admin
from fedipanel.providers.service_checks import Admin, Target
from fedipanel.services.passwords import ensure_password
from jobs.runner import StepFailed
from jobs.steps.checks import simulated_because
from jobs.steps.context import DeployContext


def wire_peertube(ctx: DeployContext) -> None:
    """Install and configure PeerTube's LDAP plugin when the operator saved a directory."""
    connection = saved_connection(ctx.operator.id)
    peertube = [(n, m) for n, m in ctx.state.machines.items() if m.service == "peertube"]
    if connection is None or not peertube:
        return
    ctx.progress.phase(N_("Connecting PeerTube to the directory"), 96)
    problem = peertube_ldap_problem(connection.directory)
    if problem:
        ctx.progress.log([f"PeerTube: not connected to the directory: {problem}"])
        return
    if simulated_because(ctx):
        ctx.simulate(f"PeerTube: {PEERTUBE_LDAP_PLUGIN} installed and pointed at the directory")
        return
    ctx.progress.hide(connection.password)
    if connection.ca_certificate.strip():
        ctx.progress.log(
            [
                "PeerTube: the plugin reads a CA from a file on the machine, which the panel "
                "does not deliver: its logins need a directory certificate from a public CA"
            ]
        )
    name, machine = peertube[0]
    password = ensure_password(ctx.operator.id, "peertube")
    ctx.progress.hide(password)
    admin = machine.admin
    assert admin is not None  # noqa: S101 - the configurator gives every machine one
    target = Target(
        service="peertube",
        label="PeerTube",
        fqdn=machine.fqdn,
        address=ctx.hosts[name].host,
        port=ctx.settings.health_port,
        ca_bundle=ctx.settings.health_ca_bundle,
    )
    settings = peertube_ldap_settings(connection.directory, connection.password)
    try:
        session = peertube_admin.login(target, Admin(admin.username, admin.email, password))
        done = peertube_admin.ensure_plugin(session, PEERTUBE_LDAP_PLUGIN, settings)
    except peertube_admin.AdminApiError as exc:
        raise StepFailed(f"PeerTube's LDAP plugin: {exc}") from None
    ctx.progress.log([f"PeerTube: {'; '.join(done) or f'{PEERTUBE_LDAP_PLUGIN} unchanged'}"])
