"""What an operator saved but has not deployed yet: the saved against the deployed version."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import func, select

from fedipanel.configurations import versions
from fedipanel.configurations.models import ConfigurationVersion
from fedipanel.db import db
from fedipanel.deployments.models import Deployment, Status


@dataclass(frozen=True)
class Pending:
    """The saved and the deployed configuration, and what deploying would change per service."""

    saved: ConfigurationVersion | None
    deployed: ConfigurationVersion | None
    # Service name -> "to be added", "to be removed" or "changed"; unchanged ones are left out.
    services: dict[str, str] = field(default_factory=dict)

    @property
    def up_to_date(self) -> bool:
        """Tell whether everything saved is deployed."""
        return self.saved is None or (
            self.deployed is not None and self.deployed.version == self.saved.version
        )


def deployed_version(operator_id: int) -> ConfigurationVersion | None:
    """Return the configuration version of the operator's last succeeded deployment."""
    number = (
        select(Deployment.config_version)
        .where(
            Deployment.operator_id == operator_id,
            Deployment.kind == "deploy",
            Deployment.status == Status.SUCCEEDED,
            Deployment.config_version.is_not(None),
        )
        .order_by(Deployment.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    return db.session.scalar(
        select(ConfigurationVersion).where(
            ConfigurationVersion.operator_id == operator_id,
            ConfigurationVersion.version == number,
        )
    )


def deployed_versions(operator_ids: list[int]) -> dict[int, ConfigurationVersion]:
    """Return each operator's last deployed configuration version, in two queries for all."""
    latest = (
        select(Deployment.operator_id, func.max(Deployment.id).label("last"))
        .where(
            Deployment.operator_id.in_(operator_ids),
            Deployment.kind == "deploy",
            Deployment.status == Status.SUCCEEDED,
            Deployment.config_version.is_not(None),
        )
        .group_by(Deployment.operator_id)
        .subquery()
    )
    numbers = dict(
        db.session.execute(
            select(Deployment.operator_id, Deployment.config_version).join(
                latest, Deployment.id == latest.c.last
            )
        ).all()
    )
    if not numbers:
        return {}
    rows = db.session.scalars(
        select(ConfigurationVersion).where(ConfigurationVersion.operator_id.in_(list(numbers)))
    )
    return {row.operator_id: row for row in rows if numbers.get(row.operator_id) == row.version}


def pending_changes(operator_id: int) -> Pending:
    """Compare the operator's current configuration with the one last deployed."""
    saved = versions.current_version(operator_id)
    deployed = deployed_version(operator_id)
    if saved is None or (deployed is not None and deployed.version == saved.version):
        return Pending(saved, deployed)
    changes = versions.service_changes(deployed.data if deployed else None, saved.data)
    return Pending(saved, deployed, changes)
