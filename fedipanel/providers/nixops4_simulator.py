"""Pretend to run `nixops4 apply`, for trying the panel without NixOS machines.

Every line is marked `[simulated] ` so that nobody mistakes the log for a real deployment.
A document with `"simulate": {"fail": true}` ends in a failure, for demonstrating that path.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from fedipanel.providers.nixops4 import ERROR_PREFIX, ApplyResult

MARKER = "[simulated] "
SIMULATED_ERROR = "simulated failure"


def simulate_apply(
    document: Mapping[str, Any],
    on_lines: Callable[[list[str]], None],
    step_delay: float = 0.4,
    sleep: Callable[[float], None] = time.sleep,
) -> ApplyResult:
    """Report plausible nixops4 progress for each machine of `document`, one line per step."""
    fail = bool((document.get("simulate") or {}).get("fail"))
    for index, line in enumerate(_lines(document, fail)):
        if index:
            sleep(step_delay)
        on_lines([MARKER + line])
    if fail:
        return ApplyResult(False, 1, SIMULATED_ERROR)
    return ApplyResult(True, 0, None)


def _lines(document: Mapping[str, Any], fail: bool) -> Iterator[str]:
    deployment = document.get("deployment", "?")
    machines: Mapping[str, Any] = document.get("machines") or {}
    yield f"nixops4 apply --no-interactive {deployment}"
    yield f"evaluating deployment {deployment} (generation {document.get('generation', '?')})"
    for name, machine in machines.items():
        ssh = machine.get("ssh") or {}
        target = f"{ssh.get('user', 'root')}@{ssh.get('host', name)}"
        yield f"{name}: evaluating the NixOS configuration"
        yield f"{name}: building the system closure"
        yield f"{name}: copying the closure to {target}"
        yield f"{name}: activating the new configuration"
        if fail:
            yield f"{ERROR_PREFIX} {SIMULATED_ERROR}"
            return
        yield f"{name}: done"
    if fail:  # a deployment without machines still fails when asked to
        yield f"{ERROR_PREFIX} {SIMULATED_ERROR}"
        return
    yield f"deployment {deployment} applied to {len(machines)} machine(s)"
