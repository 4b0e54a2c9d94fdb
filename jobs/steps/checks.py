"""After nixops4: apply each service's administrator account, then check every service for real.

Both need machines that exist and a configuration nixops4 really applied; otherwise nothing is
asked and every result says "simulated", so no page claims a check that did not happen.
"""

from __future__ import annotations

from fedipanel.core import registry
from fedipanel.core.configurator import Machine
from fedipanel.core.text import N_
from fedipanel.deployments.systems import SystemKey
from fedipanel.keys.deploy_keys import deploy_key, private_key_pem
from fedipanel.providers import service_checks
from fedipanel.providers.service_checks import Admin, CheckFailed, Target
from fedipanel.providers.ssh_admin import AdminError, apply_admin
from fedipanel.services.checks import Outcome, save_check
from fedipanel.services.passwords import ensure_password
from jobs.runner import StepFailed
from jobs.steps import parallel
from jobs.steps.context import SIMULATED, DeployContext


def simulated_because(ctx: DeployContext) -> str | None:
    """Return why services cannot really be checked (simulated machines or nixops4), or None."""
    for system, label in ((SystemKey.MACHINES, "machines"), (SystemKey.NIXOPS4, "nixops4")):
        if ctx.is_simulated(system):
            return f"{SIMULATED} not checked: the {label} are simulated"
    return None


def apply_admins(ctx: DeployContext) -> None:
    ctx.progress.phase(N_("Applying administrator accounts"), 91)
    if simulated_because(ctx):
        for machine in ctx.state.machines.values():
            ctx.simulate(f"{ctx.settings.admin_command} {machine.service}: account {_who(machine)}")
        return
    pem = private_key_pem(deploy_key(ctx.operator.id))
    trusted = ctx.host_keys(list(ctx.state.machines))

    def work(lane: parallel.Lane, machine: Machine) -> None:
        host = ctx.hosts[lane.name]
        try:
            applied = apply_admin(
                host.host,
                machine.service,
                command=ctx.settings.admin_command,
                private_key_pem=pem,
                host_public_key=trusted[lane.name],
                port=ctx.settings.vm_ssh_port,
                user=host.user or "root",
                timeout=ctx.settings.admin_timeout,
            )
        except AdminError as exc:
            raise StepFailed(f"the administrator account on {lane.name} failed: {exc}") from None
        for line in applied.lines or ["applied"]:
            lane.say(line)

    outcomes = parallel.run_each(
        ctx, list(ctx.state.machines.items()), work, prefix=lambda name: f"{name}: "
    )
    failure = parallel.first_failure(outcomes)
    if failure is not None:
        raise failure


def _who(machine: Machine) -> str:
    admin = machine.admin
    return f"{admin.username} <{admin.email}>" if admin else "none"


def check_services(ctx: DeployContext) -> None:
    ctx.progress.phase(N_("Checking services"), 94)
    reason = simulated_because(ctx)
    if reason:
        for machine in ctx.state.machines.values():
            url = f"https://{machine.fqdn}/"
            username = machine.admin.username if machine.admin else ""
            ctx.simulate(f"{url} answers; {username} logs in")
            outcome = Outcome(url, username, None, reason, "simulated", reason)
            save_check(ctx.operator.id, machine.service, ctx.deployment.id, outcome)
        return
    # Passwords come from the database, so they are read here, in the job's thread.
    passwords = {}
    for machine in ctx.state.machines.values():
        passwords[machine.service] = ensure_password(ctx.operator.id, machine.service)
        ctx.progress.hide(passwords[machine.service])

    def work(lane: parallel.Lane, machine: Machine) -> Outcome:
        return _check(ctx, lane, machine, passwords[machine.service])

    def saved(outcome: parallel.Outcome[Outcome]) -> None:
        if outcome.result is not None:
            service = ctx.state.machines[outcome.name].service
            save_check(ctx.operator.id, service, ctx.deployment.id, outcome.result)

    outcomes = parallel.run_each(
        ctx,
        list(ctx.state.machines.items()),
        work,
        prefix=lambda name: f"{_label(ctx.state.machines[name])}: ",
        on_done=saved,
    )
    failure = parallel.first_failure(outcomes)
    if failure is not None:
        raise failure
    failures = [
        o.result.login_detail or o.result.health_detail
        for o in outcomes
        if o.result is not None and (o.result.health_ok is not True or o.result.login != "ok")
    ]
    if failures:
        raise StepFailed("; ".join(failures))


def _label(machine: Machine) -> str:
    return registry.service(machine.service).label


def _check(ctx: DeployContext, lane: parallel.Lane, machine: Machine, password: str) -> Outcome:
    """Wait for one service to answer, then log its administrator in (in its own thread)."""
    settings = ctx.settings
    label = _label(machine)
    target = Target(
        service=machine.service,
        label=label,
        fqdn=machine.fqdn,
        address=ctx.hosts[lane.name].host,
        port=settings.health_port,
        ca_bundle=settings.health_ca_bundle,
    )
    url = f"https://{machine.fqdn}/"
    admin = machine.admin
    assert admin is not None  # noqa: S101 - the configurator gives every machine one

    def retrying(problem: str, wait: float) -> None:
        lane.say(f"{problem}; asking again in {wait:.0f} s")

    try:
        health = service_checks.wait_healthy(target, settings.health_timeout, on_retry=retrying)
    except CheckFailed as exc:
        detail = f"{label}: {exc}"
        lane.say(detail)
        return Outcome(url, admin.username, False, detail, None, "")
    lane.say(health)
    try:
        login = service_checks.check_login(target, Admin(admin.username, admin.email, password))
    except CheckFailed as exc:
        detail = f"{exc}"
        lane.say(detail)
        return Outcome(url, admin.username, True, health, "failed", detail)
    lane.say(login)
    return Outcome(url, admin.username, True, health, "ok", login)
