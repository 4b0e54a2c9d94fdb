"""The nixops4 adapter against the fake nixops4 in tests/fakes, and the simulator."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from fedipanel.providers import nixops4
from fedipanel.providers.nixops4 import ApplyResult, Nixops4Error, apply, find_executable
from fedipanel.providers.nixops4_simulator import simulate_apply

# Starts programs of its own (sshd, nix, nixops4's fake): not in `make test-fast`.
pytestmark = pytest.mark.external

FAKE = Path(__file__).parent / "fakes" / "nixops4"


def document(deployment: str = "acme", **extra: Any) -> dict[str, Any]:
    """A small deployment JSON with two machines."""
    machine = {
        "ssh": {"host": "192.0.2.10", "user": "root", "hostPublicKey": None},
        "nixos": {"system": {"stateVersion": "25.05"}},
    }
    return {
        "format": "fedipanel.deployment/1",
        "deployment": deployment,
        "generation": 3,
        "machines": {"mastodon": machine, "peertube": {**machine, "ssh": {"host": "192.0.2.11"}}},
        **extra,
    }


class Collector:
    """An on_lines callback that remembers each batch and when it came."""

    def __init__(self) -> None:
        self.batches: list[tuple[float, list[str]]] = []

    def __call__(self, batch: list[str]) -> None:
        assert threading.current_thread() is threading.main_thread()
        self.batches.append((time.monotonic(), list(batch)))

    @property
    def lines(self) -> list[str]:
        return [line for _, batch in self.batches for line in batch]


@pytest.fixture
def flake_dir(tmp_path: Path) -> Path:
    path = tmp_path / "flake"
    path.mkdir()
    return path


@pytest.fixture
def record(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Where the fake writes what it received."""
    path = tmp_path / "received.json"
    monkeypatch.setenv("FAKE_NIXOPS4_RECORD", str(path))
    return path


@pytest.fixture
def pidfile(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "nixops4.pid"
    monkeypatch.setenv("FAKE_NIXOPS4_PIDFILE", str(path))
    return path


def assert_gone(pid: int) -> None:
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def run(flake_dir: Path, collector: Collector, timeout: float = 20, **extra: Any) -> ApplyResult:
    return apply(str(FAKE), flake_dir, "acme", document(**extra), collector, timeout)


def test_success_streams_both_outputs_in_order(
    flake_dir: Path, record: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FEDIPANEL_S3_SECRET_KEY", "must-not-leak")
    collector = Collector()

    result = run(flake_dir, collector)

    assert result == ApplyResult(succeeded=True, exit_code=0, error=None)
    lines = collector.lines
    # Order holds within each stream; how stdout and stderr interleave is up to the scheduler.
    assert lines.index("Applying deployment acme") < lines.index("out 3: mastodon: activating")
    assert lines.index("err 2: mastodon: copying") < lines.index("Deployment acme applied")
    for tag in ("out", "err"):
        numbers = [int(line.split()[1].rstrip(":")) for line in lines if line.startswith(tag)]
        assert numbers == sorted(numbers)
        assert len(numbers) == 3
    received = json.loads(record.read_text())
    assert received["argv"] == ["apply", "--no-interactive", "acme"]
    assert received["cwd"] == str(flake_dir)
    assert received["file_mode"] == "0o600"
    assert received["document"] == document()
    assert received["environment"] == ["FEDIPANEL_DEPLOYMENT_FILE"]
    deployment_file = Path(received["file"])
    assert not deployment_file.exists()
    assert not deployment_file.parent.exists()


@pytest.mark.parametrize("color", ["", "1"])
def test_failure_reports_the_last_nixops4_error(
    flake_dir: Path, record: Path, monkeypatch: pytest.MonkeyPatch, color: str
) -> None:
    monkeypatch.setenv("FAKE_NIXOPS4_MODE", "failure")
    monkeypatch.setenv("FAKE_NIXOPS4_COLOR", color)
    collector = Collector()

    result = run(flake_dir, collector)

    assert result == ApplyResult(False, 1, "activation of mastodon failed")
    assert any("first problem" in line for line in collector.lines)
    assert not Path(json.loads(record.read_text())["file"]).exists()


def test_failure_without_error_line_reports_the_exit_code(flake_dir: Path, tmp_path: Path) -> None:
    script = tmp_path / "nixops4"
    script.write_text(f"#!{sys.executable}\nimport sys\nprint('something broke')\nsys.exit(3)\n")
    script.chmod(0o700)
    collector = Collector()

    result = apply(str(script), flake_dir, "acme", document(), collector, 20)

    assert result == ApplyResult(False, 3, "nixops4 exited with code 3")
    assert collector.lines == ["something broke"]


def test_lines_arrive_while_nixops4_is_still_running(
    flake_dir: Path, record: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_NIXOPS4_MODE", "slow")
    monkeypatch.setenv("FAKE_NIXOPS4_DELAY", "0.3")
    monkeypatch.setenv("FAKE_NIXOPS4_LINES", "4")
    collector = Collector()

    result = run(flake_dir, collector)

    assert result.succeeded
    assert collector.lines == [f"slow line {n} of 4" for n in range(1, 5)]
    first_batch_at = collector.batches[0][0]
    assert first_batch_at < json.loads(record.read_text())["finished_at"]
    assert len(collector.batches) > 1


def test_timeout_kills_a_hung_nixops4(
    flake_dir: Path, record: Path, pidfile: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_NIXOPS4_MODE", "hang")
    collector = Collector()

    # Long enough for the fake to start and say what it waits for on a busy machine.
    result = run(flake_dir, collector, timeout=4)

    assert result == ApplyResult(False, None, "nixops4 timed out after 4 s")
    assert collector.lines == ["waiting for a lock that never comes"]
    assert_gone(int(pidfile.read_text()))
    assert not Path(json.loads(record.read_text())["file"]).exists()


def test_exception_from_on_lines_stops_nixops4_and_propagates(
    flake_dir: Path, record: Path, pidfile: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_NIXOPS4_MODE", "slow")
    monkeypatch.setenv("FAKE_NIXOPS4_DELAY", "5")

    def explode(batch: list[str]) -> None:
        raise RuntimeError("job timed out")

    started = time.monotonic()
    with pytest.raises(RuntimeError, match="job timed out"):
        apply(str(FAKE), flake_dir, "acme", document(), explode, 20)

    assert time.monotonic() - started < 5
    assert_gone(int(pidfile.read_text()))
    assert not Path(json.loads(record.read_text())["file"]).exists()


def test_a_child_holding_the_output_open_does_not_hold_up_the_result(
    flake_dir: Path, tmp_path: Path, pidfile: Path
) -> None:
    script = tmp_path / "nixops4"
    script.write_text(
        f"#!{sys.executable}\n"
        "import os, subprocess\n"
        "child = subprocess.Popen(['sleep', '30'])\n"
        "open(os.environ['FAKE_NIXOPS4_PIDFILE'], 'w').write(str(child.pid))\n"
        "print('done', flush=True)\n"
    )
    script.chmod(0o700)
    collector = Collector()

    started = time.monotonic()
    result = apply(str(script), flake_dir, "acme", document(), collector, 20)

    assert result == ApplyResult(True, 0, None)
    assert time.monotonic() - started < 10
    assert collector.lines == ["done"]
    pid = int(pidfile.read_text())
    # The orphan is reparented to init, which reaps it shortly after the kill.
    for _ in range(50):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.1)
    assert_gone(pid)


def test_long_and_undecodable_lines_are_cleaned(flake_dir: Path, tmp_path: Path) -> None:
    script = tmp_path / "nixops4"
    script.write_text(
        f"#!{sys.executable}\n"
        "import sys\n"
        "sys.stdout.buffer.write(b'x' * 10000 + b'\\n' + b'caf\\xe9\\r\\n' + b'no newline')\n"
    )
    script.chmod(0o700)
    collector = Collector()

    assert apply(str(script), flake_dir, "acme", document(), collector, 20).succeeded

    long, latin1, last = collector.lines
    assert long == "x" * nixops4.MAX_LINE_BYTES + " [line truncated]"
    assert latin1 == "caf\ufffd"
    assert last == "no newline"


@pytest.mark.parametrize(
    ("executable", "message"),
    [("/nonexistent/nixops4", "No such file"), (__file__, "Permission denied")],
)
def test_an_executable_that_cannot_start_is_a_failed_result(
    flake_dir: Path, executable: str, message: str
) -> None:
    result = apply(executable, flake_dir, "acme", document(), Collector(), 20)

    assert not result.succeeded
    assert result.exit_code is None
    assert result.error is not None
    assert message in result.error
    assert executable in result.error


def test_a_missing_flake_dir_is_a_failed_result(tmp_path: Path) -> None:
    result = apply(str(FAKE), tmp_path / "missing", "acme", document(), Collector(), 20)

    assert not result.succeeded
    assert result.error is not None
    assert str(tmp_path / "missing") in result.error


@pytest.mark.parametrize("slug", ["", "-rf", "Acme", "acme/x", "acme me", "a" * 64])
def test_a_deployment_that_is_not_a_slug_is_refused(flake_dir: Path, slug: str) -> None:
    with pytest.raises(ValueError, match="not a slug"):
        apply(str(FAKE), flake_dir, slug, document(slug), Collector(), 20)


def test_a_document_for_another_deployment_is_refused(flake_dir: Path) -> None:
    with pytest.raises(ValueError, match="not 'acme'"):
        apply(str(FAKE), flake_dir, "acme", document("other"), Collector(), 20)


def test_the_fake_rejects_a_wrong_command_line(flake_dir: Path) -> None:

    completed = subprocess.run([str(FAKE), "deploy"], capture_output=True, text=True, check=False)

    assert completed.returncode == 2
    assert "usage" in completed.stderr


@pytest.fixture
def path_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An otherwise empty directory that is the whole PATH."""
    path = tmp_path / "bin"
    path.mkdir()
    monkeypatch.setenv("PATH", str(path))
    return path


def install(directory: Path, name: str = "nixops4") -> Path:
    target = directory / name
    target.symlink_to(FAKE)
    return target


def test_find_executable_prefers_the_configured_one(path_dir: Path, tmp_path: Path) -> None:
    install(path_dir)
    configured = install(tmp_path, "my-nixops4")

    assert find_executable(str(configured)) == str(configured)


def test_find_executable_resolves_a_configured_name_on_path(path_dir: Path) -> None:
    installed = install(path_dir, "nixops4-unstable")

    assert find_executable("nixops4-unstable") == str(installed)


def test_find_executable_makes_a_relative_path_absolute(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    installed = install(tmp_path)
    monkeypatch.chdir(tmp_path)

    assert find_executable("./nixops4") == str(installed)


def test_find_executable_refuses_a_configured_one_that_does_not_exist(path_dir: Path) -> None:
    install(path_dir)

    with pytest.raises(Nixops4Error, match="not-there"):
        find_executable("/opt/not-there/nixops4")


def test_find_executable_falls_back_to_path_then_to_the_simulator(path_dir: Path) -> None:
    assert find_executable(None) is None
    assert find_executable("") is None

    installed = install(path_dir)

    assert find_executable(None) == str(installed)


def test_simulator_reports_each_machine_and_succeeds() -> None:
    collector = Collector()
    delays: list[float] = []

    result = simulate_apply(document(), collector, step_delay=0.25, sleep=delays.append)

    assert result == ApplyResult(True, 0, None)
    lines = collector.lines
    assert all(line.startswith("[simulated] ") for line in lines)
    assert any("copying the closure to root@192.0.2.10" in line for line in lines)
    assert any("copying the closure to root@192.0.2.11" in line for line in lines)
    assert "[simulated] peertube: done" in lines
    assert delays == [0.25] * (len(lines) - 1)


def test_simulator_fails_when_asked() -> None:
    collector = Collector()

    result = simulate_apply(document(simulate={"fail": True}), collector, sleep=lambda _: None)

    assert result == ApplyResult(False, 1, "simulated failure")
    assert collector.lines[-1] == "[simulated] nixops4 error: simulated failure"
    assert not any(line.endswith(": done") for line in collector.lines)


def test_fake_deployment_file_mode_is_checked(tmp_path: Path) -> None:
    """The fake itself refuses a deployment file others could read."""

    loose = tmp_path / "deployment.json"
    loose.write_text(json.dumps(document()))
    loose.chmod(0o644)
    environment = {**os.environ, "FEDIPANEL_DEPLOYMENT_FILE": str(loose)}

    completed = subprocess.run(
        [str(FAKE), "apply", "--no-interactive", "acme"],
        capture_output=True,
        text=True,
        env=environment,
        check=False,
    )

    assert completed.returncode == 1
    assert "nixops4 error: deployment file mode is 0o644" in completed.stderr
    assert stat.S_IMODE(loose.stat().st_mode) == 0o644
