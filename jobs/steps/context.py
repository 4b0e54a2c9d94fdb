"""What the steps of one deployment share: the rows, the plan, and what earlier steps learnt."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from fedipanel.accounts.models import User
from fedipanel.core.configurator import DesiredState
from fedipanel.core.document import Host
from fedipanel.core.planner import Action, Change, Plan
from fedipanel.core.resources import Resource
from fedipanel.deployments.models import Deployment
from fedipanel.deployments.progress import Progress
from fedipanel.deployments.systems import SystemKey
from fedipanel.resources.records import record
from fedipanel.settings.effective import Settings
from jobs.runner import StepFailed

SIMULATED = "[simulated]"
LIVE_ACTIONS = (Action.CREATE, Action.UPDATE, Action.KEEP)


@dataclass
class DeployContext:
    """One planned deployment in progress."""

    deployment: Deployment
    operator: User
    progress: Progress
    settings: Settings
    simulated: frozenset[SystemKey]
    state: DesiredState
    plan: Plan
    hosts: dict[str, Host] = field(default_factory=dict)
    # Machines whose pre-deployed VM this deployment took from the pool.
    claimed: list[str] = field(default_factory=list)

    @property
    def slug(self) -> str:
        return self.operator.deployment_name

    def is_simulated(self, system: SystemKey) -> bool:
        """Tell whether the provider left this system unconfigured, so it is only simulated."""
        return system in self.simulated

    def changes(self, *kinds: str, actions: tuple[Action, ...] = LIVE_ACTIONS) -> list[Change]:
        """Return the plan's changes of these kinds and actions, in plan order."""
        return [c for c in self.plan.changes if c.kind in kinds and c.action in actions]

    def record(
        self, change: Change, facts: dict[str, Any] | None = None, *, simulated: bool
    ) -> None:
        """Record that the resource of `change` now exists."""
        resource = Resource(kind=change.kind, name=change.name, spec=change.spec)
        record(self.operator.id, self.deployment.id, resource, facts, simulated=simulated)

    def host_keys(self, names: list[str]) -> dict[str, str]:
        """Return the recorded SSH host key of each machine; fail if one has none to trust."""
        keys = {}
        for name in names:
            key = self.hosts[name].host_public_key
            if not key:
                raise StepFailed(f"no SSH host key is recorded for machine {name}; cannot trust it")
            keys[name] = key
        return keys

    def simulate(self, line: str) -> None:
        """Log a step that only happened in the simulator, at a watchable pace."""
        self.progress.log([f"{SIMULATED} {line}"])
        delay = self.settings.simulator_step_delay
        if delay > 0:
            time.sleep(delay / 2)
