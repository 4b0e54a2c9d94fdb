"""Working on several machines at once: the bound, stopping after a failure, the job's thread."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import pytest

from fedipanel.runtime import create_base_app
from jobs.steps import parallel
from jobs.steps.context import DeployContext
from tests.helpers import app_config


class Log:
    """Stands in for the deployment's Progress: remembers lines and the thread that wrote them."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.threads: set[int] = set()

    def log(self, lines: list[str]) -> None:
        self.threads.add(threading.get_ident())
        self.lines.extend(lines)


def _ctx(bound: int) -> tuple[DeployContext, Log]:
    log = Log()
    ctx = SimpleNamespace(progress=log, settings=SimpleNamespace(parallel_machines=bound))
    return cast(DeployContext, ctx), log


class Gate:
    """Counts machines at work; each waits until `wanted` are at work at once (or all began)."""

    def __init__(self, wanted: int) -> None:
        self.lock = threading.Lock()
        self.now = self.most = self.began = 0
        self.wanted = wanted
        self.full = threading.Event()

    def __enter__(self) -> Gate:
        with self.lock:
            self.now += 1
            self.began += 1
            self.most = max(self.most, self.now)
            if self.now >= self.wanted:
                self.full.set()
        # A bound below `wanted` never fills the gate: the wait ends by itself, not the test.
        self.full.wait(timeout=2)
        return self

    def __exit__(self, *_exc: object) -> None:
        with self.lock:
            self.now -= 1


@pytest.mark.parametrize(("bound", "machines", "most"), [(1, 3, 1), (2, 5, 2), (4, 3, 3)])
def test_machines_overlap_up_to_the_bound(bound: int, machines: int, most: int) -> None:
    ctx, _log = _ctx(bound)
    gate = Gate(most)

    def work(lane: parallel.Lane, item: int) -> int:
        with gate:
            return item * 10

    items = [(f"m{i}", i) for i in range(machines)]
    outcomes = parallel.run_each(ctx, items, work, prefix=lambda name: f"{name}: ")
    assert [o.result for o in outcomes] == [i * 10 for i in range(machines)]
    assert gate.most == most


def test_a_failure_stops_the_others_and_no_further_machine_begins() -> None:
    ctx, log = _ctx(2)
    began: list[str] = []

    def work(lane: parallel.Lane, item: str) -> str:
        began.append(lane.name)
        if item == "fail":
            raise RuntimeError("clone failed")
        for _ in range(1000):  # until the other machine's failure is known
            if lane.stopping():
                break
            time.sleep(0.01)
        # The other machine failed meanwhile: the next stage is not entered.
        lane.stage("configuring")
        return "never"

    items = [("a", "ok"), ("b", "fail"), ("c", "ok"), ("d", "ok")]
    outcomes = parallel.run_each(ctx, items, work, prefix=lambda name: f"VM {name}: ")
    assert sorted(began) == ["a", "b"]
    assert [(o.name, o.stopped, o.done) for o in outcomes] == [
        ("a", True, False),
        ("b", False, False),
        ("c", True, False),
        ("d", True, False),
    ]
    failure = parallel.first_failure(outcomes)
    assert isinstance(failure, RuntimeError)
    assert str(failure) == "clone failed"
    assert "VM a: stopped, another machine failed" in log.lines
    assert "VM c: stopped, another machine failed" in log.lines
    assert "== VM a: configuring" not in log.lines


def test_calls_and_log_lines_run_in_the_jobs_thread() -> None:
    ctx, log = _ctx(3)
    recorded: list[tuple[str, int]] = []

    def record(name: str) -> int:
        recorded.append((name, threading.get_ident()))
        return len(recorded)

    def work(lane: parallel.Lane, item: None) -> int:
        lane.say("cloning")
        lane.say(f"VM acme-{lane.name}: clone exists")
        return lane.call(record, lane.name)

    outcomes = parallel.run_each(
        ctx,
        [("mastodon", None), ("peertube", None), ("pixelfed", None)],
        work,
        prefix=lambda name: f"VM {name}: ",
        aliases=lambda name: (f"VM acme-{name}: ",),
    )
    assert sorted(o.result or 0 for o in outcomes) == [1, 2, 3]
    assert {ident for _name, ident in recorded} == {threading.get_ident()}
    assert log.threads == {threading.get_ident()}
    for name in ("mastodon", "peertube", "pixelfed"):
        assert f"VM {name}: cloning" in log.lines
        assert f"VM acme-{name}: clone exists" in log.lines
    assert len(log.lines) == 6


def test_a_failing_call_in_the_jobs_thread_fails_that_machine() -> None:
    ctx, _log = _ctx(2)

    def refuse(name: str) -> None:
        raise ValueError(f"no free address for {name}")

    def work(lane: parallel.Lane, item: None) -> None:
        lane.call(refuse, lane.name)

    outcomes = parallel.run_each(ctx, [("a", None)], work, prefix=lambda name: name)
    failure = parallel.first_failure(outcomes)
    assert isinstance(failure, ValueError)
    assert str(failure) == "no free address for a"


@pytest.mark.parametrize("value", ["0", "-1", "four", "65", "", "1.5"])
def test_a_bad_parallel_machines_setting_is_refused_with_its_name(
    tmp_path: Path, value: str
) -> None:
    with pytest.raises(ValueError, match="FEDIPANEL_PARALLEL_MACHINES must be a whole number"):
        create_base_app(app_config(tmp_path, PARALLEL_MACHINES=value))


@pytest.mark.parametrize(("value", "expected"), [("1", 1), (" 8 ", 8), (64, 64)])
def test_parallel_machines_is_read_as_a_number(tmp_path: Path, value: Any, expected: int) -> None:
    app = create_base_app(app_config(tmp_path, PARALLEL_MACHINES=value))
    assert app.config["PARALLEL_MACHINES"] == expected


def test_a_failure_in_the_jobs_thread_stops_the_machines_and_is_raised() -> None:
    ctx, log = _ctx(2)

    def broken(lines: list[str]) -> None:
        raise OSError("database is gone")

    log.log = broken  # type: ignore[method-assign]

    def work(lane: parallel.Lane, item: None) -> str:
        lane.say("cloning")
        for _ in range(1000):  # until the job's thread has failed
            if lane.stopping():
                break
            time.sleep(0.01)
        lane.stage("configuring")
        return "never"

    with pytest.raises(OSError, match="database is gone"):
        parallel.run_each(ctx, [("a", None), ("b", None)], work, prefix=lambda name: name)
