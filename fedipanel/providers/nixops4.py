"""Run the real nixops4 for one deployment and stream its output as it arrives.

The deployment JSON goes to a private temporary file named by `FEDIPANEL_DEPLOYMENT_FILE`.
nixops4 runs without a shell, in its own session, so that a timeout or an interrupted job can
stop it together with everything it started (nix, ssh). On Linux it is also killed when the
process that started it dies (a SIGKILLed RQ work horse), so an interrupted deployment cannot go
on changing machines while a new one starts. `FEDIPANEL_*` variables hold the provider's secrets,
so none of them but the file's path reaches nixops4.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

DEPLOYMENT_FILE_VARIABLE = "FEDIPANEL_DEPLOYMENT_FILE"
ERROR_PREFIX = "nixops4 error:"
MAX_LINE_BYTES = 4000

# A slug never starts with a hyphen, so nixops4 cannot mistake it for an option.
_SLUG = re.compile(r"[a-z0-9][a-z0-9-]{0,62}")
_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]")
_POLL_INTERVAL = 0.1
_MAX_BATCH = 500
_KILL_GRACE = 2.0
_DRAIN_GRACE = 1.0
_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>

LinesCallback = Callable[[list[str]], None]


class Nixops4Error(Exception):
    """nixops4 is configured wrongly."""


@dataclass(frozen=True)
class ApplyResult:
    """How a `nixops4 apply` ended; `exit_code` is None when it never ran or was stopped."""

    succeeded: bool
    exit_code: int | None
    error: str | None


def find_executable(configured: str | None) -> str | None:
    """Return the absolute nixops4 to run, or None to use the simulator."""
    if configured and configured.strip():
        found = shutil.which(configured)
        if found is None:
            raise Nixops4Error(
                f"FEDIPANEL_NIXOPS4 is {configured!r}, which is not an executable file"
                " (a path, or a name found on PATH)"
            )
        # nixops4 runs in the flake directory, where a relative path would no longer resolve.
        return os.path.abspath(found)
    found = shutil.which("nixops4")
    return None if found is None else os.path.abspath(found)


def apply(
    executable: str,
    flake_dir: Path,
    deployment: str,
    document: Mapping[str, Any],
    on_lines: LinesCallback,
    timeout: float,
) -> ApplyResult:
    """Run `nixops4 apply` for `document`, passing every output line to `on_lines`."""
    if not _SLUG.fullmatch(deployment):
        raise ValueError(f"deployment {deployment!r} is not a slug (a-z, 0-9 and -)")
    if document.get("deployment") != deployment:
        raise ValueError(f"document is for {document.get('deployment')!r}, not {deployment!r}")
    payload = json.dumps(dict(document), indent=2)

    directory = tempfile.mkdtemp(prefix="fedipanel-deployment-")
    try:
        path = os.path.join(directory, "deployment.json")
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
        with os.fdopen(os.open(path, flags, 0o600), "w", encoding="utf-8") as file:
            file.write(payload)
        try:
            # No shell; the executable is the provider's own configured nixops4.
            process = subprocess.Popen(  # noqa: S603
                [executable, "apply", "--no-interactive", deployment],
                cwd=flake_dir,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env=_child_environment(path),
                start_new_session=True,
                preexec_fn=_die_with_parent(),
            )
        except OSError as exc:
            return ApplyResult(False, None, f"cannot start nixops4: {exc.strerror}: {exc.filename}")
        try:
            return _follow(process, on_lines, timeout)
        except BaseException:
            _stop(process)
            raise
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def _die_with_parent() -> Callable[[], None] | None:
    """Return a pre-exec hook that has the kernel SIGKILL nixops4 when its parent dies (Linux)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    # The kernel ties this to the calling thread, which waits in `apply` until nixops4 has ended.
    parent, kill = os.getpid(), int(signal.SIGKILL)

    def hook() -> None:
        # Runs in the child between fork and exec: one foreign call, nothing that takes a lock.
        prctl(_PR_SET_PDEATHSIG, kill, 0, 0, 0)
        if os.getppid() != parent:  # the parent died before the hook ran
            os.kill(os.getpid(), kill)

    return hook


def _child_environment(deployment_file: str) -> dict[str, str]:
    environment = {
        name: value
        for name, value in os.environ.items()
        if not name.upper().startswith("FEDIPANEL_")
    }
    environment[DEPLOYMENT_FILE_VARIABLE] = deployment_file
    return environment


def _follow(
    process: subprocess.Popen[bytes], on_lines: LinesCallback, timeout: float
) -> ApplyResult:
    """Deliver output until nixops4 ends, and say how it ended."""
    lines: queue.Queue[str | None] = queue.Queue()
    streams = [stream for stream in (process.stdout, process.stderr) if stream is not None]
    for stream in streams:
        threading.Thread(target=_read_lines, args=(stream, lines), daemon=True).start()

    deadline = time.monotonic() + timeout
    open_streams = len(streams)
    exited_at: float | None = None
    error: str | None = None
    while open_streams:
        wait = min(_POLL_INTERVAL, max(0.0, deadline - time.monotonic()))
        batch, closed = _take_batch(lines, wait)
        open_streams -= closed
        if batch:
            error = _last_error(batch) or error
            on_lines(batch)
        now = time.monotonic()
        if exited_at is None and process.poll() is not None:
            exited_at = now
        if exited_at is not None and now - exited_at > _DRAIN_GRACE:
            # Something nixops4 started outlived it and still holds its output open.
            _signal_group(process, signal.SIGKILL)
            break
        if exited_at is None and now >= deadline:
            return _time_out(process, timeout)

    try:
        code = process.wait(max(0.0, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
        return _time_out(process, timeout)
    if code == 0:
        return ApplyResult(True, 0, None)
    if error is None:
        error = (
            f"nixops4 was killed by signal {-code}"
            if code < 0
            else f"nixops4 exited with code {code}"
        )
    return ApplyResult(False, code, error)


def _read_lines(stream: IO[bytes], lines: queue.Queue[str | None]) -> None:
    """Queue each line of `stream`, then None at its end."""
    try:
        with stream:
            while chunk := stream.readline(MAX_LINE_BYTES):
                line = chunk.decode("utf-8", errors="replace").rstrip("\r\n")
                if not chunk.endswith(b"\n") and _skip_rest_of_line(stream):
                    line += " [line truncated]"
                lines.put(line)
    finally:
        lines.put(None)


def _skip_rest_of_line(stream: IO[bytes]) -> bool:
    """Read up to the next newline without holding it in memory; say if anything was there."""
    skipped = False
    while rest := stream.readline(MAX_LINE_BYTES):
        skipped = skipped or bool(rest.rstrip(b"\r\n"))
        if rest.endswith(b"\n"):
            break
    return skipped


def _take_batch(lines: queue.Queue[str | None], wait: float) -> tuple[list[str], int]:
    """Wait up to `wait` seconds for a line, then take whatever else is already queued."""
    batch: list[str] = []
    closed = 0
    try:
        item = lines.get(timeout=wait) if wait > 0 else lines.get_nowait()
        while True:
            if item is None:
                closed += 1
            else:
                batch.append(item)
            if len(batch) >= _MAX_BATCH:
                break
            item = lines.get_nowait()
    except queue.Empty:
        pass
    return batch, closed


def _last_error(batch: list[str]) -> str | None:
    """Return the text of the last `nixops4 error:` line in `batch`, if any."""
    for line in reversed(batch):
        plain = _ANSI.sub("", line).lstrip()
        if plain.startswith(ERROR_PREFIX) and (text := plain[len(ERROR_PREFIX) :].strip()):
            return text
    return None


def _time_out(process: subprocess.Popen[bytes], timeout: float) -> ApplyResult:
    _stop(process)
    return ApplyResult(False, None, f"nixops4 timed out after {timeout:g} s")


def _stop(process: subprocess.Popen[bytes]) -> None:
    """Stop nixops4 and everything it started, then reap it."""
    if process.poll() is None:
        _signal_group(process, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(_KILL_GRACE)
    # Whatever ignored SIGTERM, or outlived nixops4, goes too.
    _signal_group(process, signal.SIGKILL)
    process.wait()


def _signal_group(process: subprocess.Popen[bytes], signum: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signum)
