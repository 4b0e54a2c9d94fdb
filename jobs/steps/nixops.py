"""Apply the NixOS configurations with nixops4 (or its simulator)."""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from fedipanel.core.document import deployment_document
from fedipanel.core.text import N_
from fedipanel.deployments.systems import SystemKey
from fedipanel.parameters.pins import flake_lock_for
from fedipanel.providers import nixops4
from fedipanel.providers.nixops4_simulator import simulate_apply
from jobs.runner import StepFailed
from jobs.steps.context import DeployContext


def apply(ctx: DeployContext) -> None:
    ctx.progress.phase(N_("Running nixops4"), 55)
    document = deployment_document(ctx.slug, ctx.deployment.generation, ctx.state, ctx.hosts)
    lines_seen = 0

    def on_lines(lines: list[str]) -> None:
        nonlocal lines_seen
        lines_seen += len(lines)
        ctx.progress.log(lines)
        # nixops4 reports no percentages: creep towards 90 as lines arrive.
        ctx.progress.advance(55 + int(35 * lines_seen / (lines_seen + 20)))

    settings = ctx.settings
    if ctx.is_simulated(SystemKey.NIXOPS4):
        if flake_lock_for(ctx.operator.id) is not None:
            ctx.simulate("flake inputs from the pinned flake.lock")
        result = simulate_apply(document, on_lines, step_delay=settings.simulator_step_delay)
    else:
        try:
            executable = nixops4.find_executable(settings.nixops4)
        except nixops4.Nixops4Error as exc:
            raise StepFailed(str(exc)) from None
        if executable is None:
            raise StepFailed("nixops4 is no longer installed on this worker")
        with flake_for(ctx) as flake_dir:
            result = nixops4.apply(
                executable,
                flake_dir,
                ctx.slug,
                document,
                on_lines,
                timeout=settings.nixops4_timeout,
            )
    if not result.succeeded:
        raise StepFailed(result.error or "nixops4 failed")


@contextmanager
def flake_for(ctx: DeployContext) -> Iterator[Path]:
    """Yield the flake directory to run in: the provider's, or a private copy of it with the
    flake.lock a rollout pinned for this operator."""
    lock = flake_lock_for(ctx.operator.id)
    if lock is None:
        yield ctx.settings.flake_dir
        return
    with tempfile.TemporaryDirectory(prefix="fedipanel-flake-") as scratch:
        flake_dir = Path(scratch) / "flake"
        shutil.copytree(ctx.settings.flake_dir, flake_dir, ignore=shutil.ignore_patterns(".git"))
        (flake_dir / "flake.lock").write_text(json.dumps(lock, indent=2) + "\n")
        ctx.progress.log(["FediPanel: using the flake inputs pinned for this deployment"])
        yield flake_dir


def record_configurations(ctx: DeployContext) -> None:
    ctx.progress.phase(N_("Recording resources"), 98)
    for change in ctx.changes("nixos"):
        ctx.record(change, simulated=ctx.is_simulated(SystemKey.NIXOPS4))
