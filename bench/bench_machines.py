"""The machine phase of a three-machine deployment on Proxmox, against its slowest machine alone.

The fake Proxmox (tests/fakes/proxmox.py) runs its tasks as long as a small real cluster takes:
a full clone 3 s, a start 2 s, configuration and disk resize 0.2 s each, and a guest whose SSH
answers 1 s after its start; each machine's VM is a little faster or slower than the others
(factors below). Every started VM gets a real sshd, so the panel waits for SSH and reads the
host key for real. The rest of the deployment is simulated (storage, DNS, nixops4).

Measured: seconds spent in the machine step (clone, configure, resize, start, wait for SSH),
for the slowest machine deployed alone (the baseline, same run), the three machines with
FEDIPANEL_PARALLEL_MACHINES=4, and the three machines one after another (=1) for comparison.
Prints a Markdown table and, last, one `BENCH-JSON` line for bench/run_all.py.
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchlib import PASSWORD, free_port, panel_app, panel_environment, quiet_logging

TASKS = {"qmclone": 3.0, "qmstart": 2.0, "qmconfig": 0.2, "resize": 0.2}
BOOT = 1.0
FACTOR = {"acme-mastodon": 1.0, "acme-pixelfed": 0.8, "acme-peertube": 1.2}
SLOWEST = "peertube"
POLL = 0.2  # FEDIPANEL_PROXMOX_TASK_POLL: the first wait between two looks at a task
GOAL = 1.2
ALL = ("mastodon", "pixelfed", "peertube")


def deploy(tmp: Path, services: tuple[str, ...], parallel: int) -> float:
    """Deploy these services on a fresh panel and fake cluster; return the machine step's time."""
    from fedipanel.accounts import users as accounts
    from fedipanel.configurations.versions import save_configuration
    from fedipanel.db import db
    from fedipanel.deployments.lifecycle import start_deployment
    from fedipanel.deployments.models import Deployment
    from fedipanel.settings import effective
    from jobs.steps import vms
    from tests.fakes.proxmox import FakeProxmox, Timing

    sshd = shutil.which("sshd") or "/usr/sbin/sshd"
    fake = FakeProxmox(tmp / "pve", ssh_port=free_port(), sshd=sshd, task_delay=0.2)
    fake.timing = Timing(tasks=dict(TASKS), boot=BOOT, factor=dict(FACTOR))
    fake.start()
    spent: list[float] = []
    original = vms.provision_proxmox

    def timed(*args: Any) -> None:
        began = time.perf_counter()
        try:
            original(*args)
        finally:
            spent.append(time.perf_counter() - began)

    vms.provision_proxmox = timed  # type: ignore[assignment]
    try:
        settings = fake.settings(VM_ADDRESSES="127.0.10.10-127.0.10.20/24")
        env = panel_environment(
            tmp,
            **settings,
            KEYS_DIR=tmp / "keys",
            PARALLEL_MACHINES=parallel,
            PROXMOX_TASK_POLL=POLL,
            PROXMOX_BACKOFF=0.05,
            VM_BOOT_TIMEOUT=60,
            REAP_INTERVAL=3600,
        )
        app = panel_app(env)
        config = {
            "domain": "acme.example",
            "admin": {"username": "alice", "email": "alice@acme.example"},
            "services": {name: {"enable": name in services} for name in ALL},
        }
        with app.app_context():
            db.create_all()
            operator = accounts.create_user("op@acme.example", PASSWORD, "operator", "acme")
            save_configuration(operator, config, source="web", author=operator)
            deployment = start_deployment(operator, effective.current(), requested_by=operator)
            app.extensions["fedipanel.queue"].join()
            db.session.expire_all()
            done = db.session.get(Deployment, deployment.id)
            assert done is not None
            if done.status != "succeeded":
                raise RuntimeError(f"the deployment {done.status}: {done.error}")
            db.session.remove()
    finally:
        vms.provision_proxmox = original  # type: ignore[assignment]
        fake.stop()
    if len(spent) != 1:
        raise RuntimeError(f"the machine step ran {len(spent)} times")
    return spent[0]


def main() -> int:
    cases = [
        (f"{SLOWEST} alone (baseline)", (SLOWEST,), 4),
        ("three machines, FEDIPANEL_PARALLEL_MACHINES=4", ALL, 4),
        ("three machines, FEDIPANEL_PARALLEL_MACHINES=1", ALL, 1),
    ]
    figures: list[float] = []
    with quiet_logging():
        for _label, services, parallel in cases:
            with tempfile.TemporaryDirectory(prefix="fedipanel-bench-machines-") as tmp:
                figures.append(deploy(Path(tmp), services, parallel))
    baseline, together, _serial = figures
    ratio = together / baseline
    print(
        "Fake Proxmox task times: clone 3 s, start 2 s, config and resize 0.2 s, SSH 1 s after "
        "the start; per-VM factors "
        + ", ".join(f"{name} x{factor}" for name, factor in FACTOR.items())
        + f"; task poll {POLL} s."
    )
    print()
    print("| machine step | seconds | ratio to the slowest machine alone |")
    print("|---|---|---|")
    for (label, _services, _parallel), seconds in zip(cases, figures, strict=True):
        print(f"| {label} | {seconds:.2f} | {seconds / baseline:.2f} |")
    goals = [
        {
            "what": "machine step of three machines, as a ratio to the slowest alone",
            "figure": f"{ratio:.2f}x ({together:.2f} s / {baseline:.2f} s)",
            "goal": f"<= {GOAL}x",
            "met": ratio <= GOAL,
        }
    ]
    print("BENCH-JSON " + json.dumps({"name": "machines", "goals": goals}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
