"""What the steps of one deployment share: the rows, the plan, and what earlier steps learnt."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from fedipanel.accounts.models import User
from fedipanel.configurator import DesiredState, Host, Resource
from fedipanel.deployments.models import Deployment
from fedipanel.deployments.progress import Progress
from fedipanel.deployments.resources import record
from fedipanel.planning import Change, Plan

SIMULATED = "[simulated]"


@dataclass
class DeployContext:
    """One deployment in progress."""

    deployment: Deployment
    operator: User
    progress: Progress
    config: Any  # the Flask config mapping
    simulated: set[str]
    state: DesiredState | None = None
    plan: Plan | None = None
    hosts: dict[str, Host] = field(default_factory=dict)

    @property
    def slug(self) -> str:
        return self.operator.slug or f"operator-{self.operator.id}"

    def changes(
        self, *kinds: str, actions: tuple[str, ...] = ("create", "update", "keep")
    ) -> list[Change]:
        """Return the plan's changes of these kinds and actions, in plan order."""
        assert self.plan is not None  # noqa: S101 - set by the planning step
        return [c for c in self.plan.changes if c.kind in kinds and c.action in actions]

    def record(
        self, change: Change, facts: dict[str, Any] | None = None, *, simulated: bool
    ) -> None:
        """Record that the resource of `change` now exists."""
        resource = Resource(kind=change.kind, name=change.name, spec=change.spec)
        record(self.operator.id, self.deployment.id, resource, facts, simulated=simulated)

    def simulate(self, line: str) -> None:
        """Log a step that only happened in the simulator, at a watchable pace."""
        self.progress.log([f"{SIMULATED} {line}"])
        delay = float(self.config["SIMULATOR_STEP_DELAY"])
        if delay > 0:
            time.sleep(delay / 2)
