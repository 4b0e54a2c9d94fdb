"""The last check of each service, as the deployment step recorded it and the pages show it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from fedipanel.configurations.versions import current_configuration
from fedipanel.core.configuration import Configuration
from fedipanel.core.registry import SERVICE_LABELS
from fedipanel.db import db
from fedipanel.services.models import ServiceCheck
from fedipanel.timeutil import iso, utcnow

NOT_CHECKED = "not checked yet: deploy to check it"


@dataclass(frozen=True)
class Outcome:
    """What one check found; `health_ok` None and `login` "simulated" when nothing was asked."""

    url: str
    username: str
    health_ok: bool | None
    health_detail: str
    login: str | None
    login_detail: str


def save_check(operator_id: int, service: str, deployment_id: int, outcome: Outcome) -> None:
    """Record the newest check of one service (committed, so pages show it at once)."""
    row = db.session.scalar(
        select(ServiceCheck).where(
            ServiceCheck.operator_id == operator_id, ServiceCheck.service == service
        )
    )
    if row is None:
        row = ServiceCheck(operator_id=operator_id, service=service)
        db.session.add(row)
    row.deployment_id = deployment_id
    row.url = outcome.url
    row.username = outcome.username
    row.health_ok = outcome.health_ok
    row.health_detail = outcome.health_detail
    row.login = outcome.login
    row.login_detail = outcome.login_detail
    row.checked_at = utcnow()
    db.session.commit()


def checks_of(operator_id: int, deployment_id: int | None = None) -> list[ServiceCheck]:
    """Return the operator's newest checks (only those a given deployment made, if named)."""
    query = select(ServiceCheck).where(ServiceCheck.operator_id == operator_id)
    if deployment_id is not None:
        query = query.where(ServiceCheck.deployment_id == deployment_id)
    return list(db.session.scalars(query.order_by(ServiceCheck.service)))


def service_status(operator_id: int, config: Configuration | None = None) -> list[dict[str, Any]]:
    """Return each enabled service with its URL, last health check and admin login.

    The services are those of `config` (the deployed one, say), else of the saved configuration.
    """
    config = config or current_configuration(operator_id)
    if config is None:
        return []
    checks = {row.service: row for row in checks_of(operator_id)}
    status = []
    for service in config.enabled():
        url = f"https://{config.fqdn(service)}/"
        row = checks.get(service)
        if row is None or row.url != url:
            health: dict[str, Any] = {"ok": None, "detail": NOT_CHECKED, "checkedAt": None}
            admin: dict[str, Any] = {"login": None, "detail": NOT_CHECKED}
        else:
            health = {"ok": row.health_ok, "detail": row.health_detail}
            health["checkedAt"] = iso(row.checked_at)
            admin = {"login": row.login, "detail": row.login_detail}
        status.append(
            {
                "service": service,
                "label": SERVICE_LABELS[service],
                "url": url,
                "health": health,
                "admin": {"username": config.admin.username, **admin},
            }
        )
    return status
