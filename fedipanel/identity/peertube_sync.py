"""The sync's PeerTube part: roles and blocks through PeerTube's admin API.

PeerTube's LDAP plugin makes an account at a user's first login, so the sync never creates
one: it reads the instance's users, then gives or takes the Administrator role and blocks or
unblocks the accounts the plugin made, with the operator's administrator token. PeerTube
itself is the record, so nothing is kept in the panel and a failed request is simply asked
again by the next run.
"""

from __future__ import annotations

from collections.abc import Callable

from fedipanel.configurations.versions import current_configuration
from fedipanel.core.account_sync import DirectoryUser, peertube_steps
from fedipanel.core.directory import PEERTUBE_LDAP_PLUGIN
from fedipanel.providers import peertube_admin
from fedipanel.providers.service_checks import Admin, Target
from fedipanel.resources.models import RecordedResource
from fedipanel.settings import effective

# Returns the stored administrator password of one of the operator's services, if any.
PasswordOf = Callable[[int, str], str | None]


def sync_peertube(
    operator_id: int,
    machine: RecordedResource,
    users: list[DirectoryUser],
    password_of: PasswordOf,
    changes: list[str],
    errors: list[str],
) -> None:
    """Bring PeerTube's plugin-made accounts in line with the directory."""
    if machine.simulated:
        changes.append("[simulated] peertube: roles and blocks follow the directory")
        return
    config = current_configuration(operator_id)
    address = (machine.facts or {}).get("address")
    password = password_of(operator_id, "peertube")
    if config is None or not address or password is None:
        errors.append("peertube: no address or administrator password is recorded for it")
        return
    settings = effective.current()
    target = Target(
        service="peertube",
        label="PeerTube",
        fqdn=config.fqdn("peertube"),
        address=str(address),
        port=settings.health_port,
        ca_bundle=settings.health_ca_bundle,
    )
    try:
        session = peertube_admin.login(target, Admin(config.admin.username, "", password))
        accounts = peertube_admin.list_accounts(session)
    except peertube_admin.AdminApiError as exc:
        errors.append(f"peertube: {exc}")
        return
    steps = peertube_steps(users, accounts, PEERTUBE_LDAP_PLUGIN)
    for step in steps:
        try:
            peertube_admin.apply(session, step)
        except peertube_admin.AdminApiError as exc:
            errors.append(f"{step.describe()} failed: {exc}")
            continue
        changes.append(step.describe())
    if not steps:
        changes.append("peertube: nothing to change")
