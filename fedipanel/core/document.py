"""The deployment JSON (`fedipanel.deployment/1`) that the provider's NixOps4 flake reads."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from fedipanel.core.configurator import DesiredState

FORMAT = "fedipanel.deployment/1"


@dataclass(frozen=True)
class Host:
    """How NixOps4 reaches a provisioned machine over SSH."""

    host: str
    user: str = "root"
    host_public_key: str | None = None


def deployment_document(
    slug: str, generation: int, state: DesiredState, hosts: Mapping[str, Host]
) -> dict[str, Any]:
    """Return the deployment JSON for every machine of a desired state."""
    missing = sorted(set(state.machines) - set(hosts))
    if missing:
        raise ValueError(f"no SSH host known for machine(s): {', '.join(missing)}")
    return {
        "format": FORMAT,
        "deployment": slug,
        "generation": generation,
        "machines": {
            name: {
                "ssh": {
                    "host": hosts[name].host,
                    "user": hosts[name].user,
                    "hostPublicKey": hosts[name].host_public_key,
                },
                "nixos": machine.nixos,
            }
            for name, machine in state.machines.items()
        },
    }
