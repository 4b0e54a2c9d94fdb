"""Time a rollout for 1,000 operators: creating it, and rendering the provider's board.

Creating it plans each operator's update, computes their proposed time from their maintenance
window, stores one notice each and queues its delivery (email and webhook) and the scheduler's
wake-ups, on a throwaway redis-server when one is installed (as in production: the web process
only queues, workers deliver), else on the embedded queue. The baseline, measured in the same run,
is planning the same 1,000 operators alone (`plan_for`), so the ratio is what a rollout adds.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.bench_log_latency import redis_server_program, start_redis
from bench.benchlib import CONFIG
from fedipanel import create_app
from fedipanel.accounts.models import User
from fedipanel.accounts.users import hash_password
from fedipanel.configurations.versions import save_configuration
from fedipanel.core.maintenance import Window
from fedipanel.core.rollouts import RolloutSpec
from fedipanel.db import db
from fedipanel.deployments.models import Deployment, Status
from fedipanel.keys.deploy_keys import add_deploy_key
from fedipanel.maintenance.windows import save_window
from fedipanel.planning.plans import plan_for
from fedipanel.rollouts.creation import create_rollout
from fedipanel.settings import effective
from fedipanel.timeutil import utcnow

OPERATORS = 1000
BOARD_RUNS = 7
ZONES = ["Europe/Amsterdam", "Europe/Lisbon", "America/New_York", "Asia/Tokyo", "UTC"]


def seed(app: Any) -> None:
    """Create OPERATORS operators, each with a deployed configuration and a window."""
    with app.app_context():
        db.create_all()
        password = hash_password("bench horse battery staple")
        db.session.add(
            User(email="admin@provider.example", role="provider", password_hash=password)
        )
        for i in range(OPERATORS):
            user = User(
                email=f"op{i}@example.org", role="operator", slug=f"op{i}", password_hash=password
            )
            db.session.add(user)
            db.session.flush()
            add_deploy_key(user.id, user.slug)
            config = json.loads(json.dumps(CONFIG))
            config["domain"] = f"operator{i}.example"
            config["services"]["pixelfed"]["enable"] = i % 2 == 0
            save_configuration(user, config, source="bench")
            db.session.add(
                Deployment(operator_id=user.id, status=Status.SUCCEEDED, config_version=1)
            )
            if i % 3:
                slot = {"day": ["sat", "sun", "wed"][i % 3], "start": f"{i % 24:02}:00", "hours": 2}
                save_window(user.id, Window(timezone=ZONES[i % len(ZONES)], slots=[slot]))
        db.session.commit()


def time_baseline(app: Any) -> float:
    with app.app_context():
        users = db.session.query(User).filter(User.role == "operator").all()
        settings = effective.current()
        start = time.perf_counter()
        for user in users:
            plan_for(user, settings)
        return time.perf_counter() - start


def time_create(app: Any) -> tuple[float, int]:
    spec = RolloutSpec.model_validate(
        {
            "title": "NixOS 25.11",
            "reason": "Security updates for every service",
            "deadline": (datetime.now(UTC) + timedelta(days=30)).isoformat(),
            "batchSize": 50,
            "change": {"kind": "redeploy"},
        }
    )
    with app.app_context():
        start = time.perf_counter()
        rollout = create_rollout(spec, None, effective.current(), utcnow())
        seconds = time.perf_counter() - start
        return seconds, rollout.id


def time_board(app: Any, rollout_id: int) -> float:
    client = app.test_client()
    client.post(
        "/login", data={"email": "admin@provider.example", "password": "bench horse battery staple"}
    )
    best = float("inf")
    for _ in range(BOARD_RUNS):
        start = time.perf_counter()
        response = client.get(f"/rollouts/{rollout_id}", headers={"HX-Request": "true"})
        best = min(best, time.perf_counter() - start)
        assert response.status_code == 200, response.status_code
        assert response.data.count(b"data-operator=") == OPERATORS
    return best


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="fedipanel-bench-") as scratch:
        tmp = Path(scratch)
        program = redis_server_program()
        redis = start_redis(program, tmp) if program else None
        config = {
            "INSTANCE_PATH": str(tmp / "instance"),
            "DATABASE_URL": f"sqlite:///{tmp / 'fedipanel.sqlite3'}",
            "SECRET_KEY": "bench-secret-key-" + "x" * 32,
            "WTF_CSRF_ENABLED": False,
            "REDIS_URL": redis[1] if redis else None,
            "ROLLOUT_TICK": 3600,
            "REAP_INTERVAL": 3600,
        }
        app = create_app(config)
        try:
            seed(app)
            baseline = time_baseline(app)
            created, rollout_id = time_create(app)
            board = time_board(app, rollout_id)
        finally:
            if redis:
                redis[0].terminate()
                redis[0].wait(10)
    queue = "redis-server" if redis else "the embedded queue"
    print(f"Operators: {OPERATORS}; notices queued on {queue}.")
    print()
    print("| measure | seconds | goal | ratio to planning alone |")
    print("|---|---|---|---|")
    print(f"| planning 1,000 operators alone (baseline) | {baseline:.2f} | | 1.00 |")
    print(
        "| creating the rollout (plans, windows, notices, queued jobs) "
        f"| {created:.2f} | < 5 | {created / baseline:.2f} |"
    )
    print(f"| rendering the board (best of {BOARD_RUNS}) | {board:.3f} | < 0.2 | |")
    goals = [
        {
            "what": "rollout for 1,000 operators created",
            "figure": f"{created:.2f} s",
            "goal": "< 5 s",
            "met": created < 5,
        },
        {
            "what": "board of 1,000 operators rendered",
            "figure": f"{board:.3f} s",
            "goal": "< 0.2 s",
            "met": board < 0.2,
        },
    ]
    print("BENCH-JSON " + json.dumps({"name": "rollouts", "goals": goals}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
