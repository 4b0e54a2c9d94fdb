"""Time the configurator and planner for 100 and 1,000 operators; print a Markdown table row."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fedipanel.core.configuration import Configuration
from fedipanel.core.configurator import desired_state
from fedipanel.core.planner import plan_changes
from fedipanel.core.registry import DEFAULT_SIZES
from fedipanel.core.resources import (
    MachineSize,
    OperatorFacts,
    ProviderSettings,
    Resource,
    S3Settings,
    SmtpSettings,
)

KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMbI2pLgY7cpVVS7Hzx6T4nGtOazV2F1bLGdYmgS6d5Q bench"
SERVICES = ("mastodon", "pixelfed", "peertube")
RUNS = 7
SETTINGS = ProviderSettings(
    sizes=DEFAULT_SIZES,
    acme_email="acme@provider.example",
    smtp=SmtpSettings(host="smtp.provider.example", user="relay"),
    s3=S3Settings(
        endpoint="https://s3.provider.example", public_url="https://media.provider.example"
    ),
)
# Last deployment's settings: one size differs, so some operators see updates.
PREVIOUS = ProviderSettings(
    sizes=dict(DEFAULT_SIZES) | {"pixelfed": MachineSize(cores=1, memory_mib=2048, disk_gib=20)},
    acme_email=SETTINGS.acme_email,
    smtp=SETTINGS.smtp,
    s3=SETTINGS.s3,
)


def operators(n: int) -> list[tuple[Configuration, OperatorFacts, list[Resource]]]:
    """Build n varied operators, each with the resources recorded by an earlier deployment."""
    out = []
    for i in range(n):
        enabled = [s for j, s in enumerate(SERVICES) if (i >> j) & 1 or j == i % 3]
        config = Configuration.model_validate(
            {
                "domain": f"operator{i}.example",
                "admin": {"username": f"admin{i}", "email": f"admin@operator{i}.example"},
                "services": {s: {"enable": True} for s in enabled},
            }
        )
        facts = OperatorFacts(slug=f"operator-{i}", ssh_public_key=KEY)
        recorded = [] if i % 4 == 0 else desired_state(config, facts, PREVIOUS).resources()
        out.append((config, facts, recorded))
    return out


def best_time(n: int) -> float:
    """Return the best wall time over RUNS of desired_state + plan_changes for n operators."""
    data = operators(n)
    best = float("inf")
    for _ in range(RUNS):
        start = time.perf_counter()
        for config, facts, recorded in data:
            plan_changes(desired_state(config, facts, SETTINGS).resources(), recorded)
        best = min(best, time.perf_counter() - start)
    return best


def main() -> int:
    """Run the benchmark and print the results."""
    t100, t1000 = best_time(100), best_time(1000)
    ratio = t1000 / (10 * t100)
    print(f"100 operators:   {t100:.4f} s")
    print(f"1000 operators:  {t1000:.4f} s (goal < 1 s)")
    print(f"linearity time(1000)/(10*time(100)): {ratio:.2f} (goal ~ 1)")
    print()
    print("| benchmark | 100 operators (s) | 1000 operators (s) | linearity | under 1 s |")
    print("|---|---|---|---|---|")
    ok = "yes" if t1000 < 1 else "no"
    print(f"| configurator + planner | {t100:.4f} | {t1000:.4f} | {ratio:.2f} | {ok} |")
    goals = [
        {
            "what": "configurator + planner, 1000 operators",
            "figure": f"{t1000:.3f} s",
            "goal": "< 1 s",
            "met": t1000 < 1,
        },
        {
            "what": "configurator + planner linearity, time(1000) / (10 * time(100))",
            "figure": f"{ratio:.2f}",
            "goal": "~ 1 (0.5 to 1.5)",
            "met": 0.5 <= ratio <= 1.5,
        },
    ]
    print("BENCH-JSON " + json.dumps({"name": "configurator", "goals": goals}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
