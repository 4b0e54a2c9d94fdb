"""Apply the NixOS configurations with nixops4 (or its simulator), then check the services."""

from __future__ import annotations

from pathlib import Path

from fedipanel.configurator import deployment_document
from fedipanel.providers import nixops4
from fedipanel.providers.nixops4_simulator import simulate_apply
from jobs.runner import StepFailed
from jobs.steps.context import DeployContext


def apply(ctx: DeployContext) -> None:
    ctx.progress.phase("Running nixops4", 55)
    assert ctx.state is not None  # noqa: S101 - set by the planning step
    document = deployment_document(ctx.slug, ctx.deployment.generation, ctx.state, ctx.hosts)
    lines_seen = 0

    def on_lines(lines: list[str]) -> None:
        nonlocal lines_seen
        lines_seen += len(lines)
        ctx.progress.log(lines)
        # nixops4 reports no percentages: creep towards 90 as lines arrive.
        ctx.progress.advance(55 + int(35 * lines_seen / (lines_seen + 20)))

    if "nixops4" in ctx.simulated:
        result = simulate_apply(
            document, on_lines, step_delay=float(ctx.config["SIMULATOR_STEP_DELAY"])
        )
    else:
        try:
            executable = nixops4.find_executable(ctx.config.get("NIXOPS4"))
        except nixops4.Nixops4Error as exc:
            raise StepFailed(str(exc)) from None
        if executable is None:
            raise StepFailed("nixops4 is no longer installed on this worker")
        result = nixops4.apply(
            executable,
            Path(ctx.config["FLAKE_DIR"]),
            ctx.slug,
            document,
            on_lines,
            timeout=float(ctx.config["NIXOPS4_TIMEOUT"]),
        )
    if not result.succeeded:
        raise StepFailed(result.error or "nixops4 failed")


def check_services(ctx: DeployContext) -> None:
    ctx.progress.phase("Checking services", 94)
    assert ctx.state is not None  # noqa: S101 - set by the planning step
    for machine in ctx.state.machines.values():
        ctx.simulate(f"https://{machine.fqdn}/ answers")


def record_configurations(ctx: DeployContext) -> None:
    ctx.progress.phase("Recording resources", 98)
    for change in ctx.changes("nixos"):
        ctx.record(change, simulated="nixops4" in ctx.simulated)
