"""Wiping a VM over SSH against a real sshd on loopback, with stand-ins for fedipanel-wipe."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from fedipanel.providers.ssh_wipe import DONE, Wiped, WipeError, wipe
from tests.sshd import Sshd, keypair, run_sshd

# Starts programs of its own (sshd, nix, nixops4's fake): not in `make test-fast`.
pytestmark = pytest.mark.external


@pytest.fixture(scope="module")
def keys() -> tuple[str, str]:
    return keypair()


@pytest.fixture(scope="module")
def sshd(tmp_path_factory: pytest.TempPathFactory, keys: tuple[str, str]) -> Iterator[Sshd]:
    yield from run_sshd(tmp_path_factory.mktemp("sshd"), keys[1])


def _stand_in(tmp_path: Path, body: str) -> Path:
    script = tmp_path / "fedipanel-wipe"
    script.write_text(f'#!/bin/sh\necho "ran $*" >> {tmp_path / "ran"}\n{body}\n')
    script.chmod(0o755)
    return script


def _wipe(sshd: Sshd, keys: tuple[str, str], command: str, host_key: str = "") -> Wiped:
    return wipe(
        "127.0.0.1",
        private_key_pem=keys[0],
        host_public_key=host_key or sshd.host_public_key,
        command=command,
        port=sshd.port,
    )


def test_a_wipe_reports_what_it_stopped_and_removed_and_can_run_twice(
    sshd: Sshd, keys: tuple[str, str], tmp_path: Path
) -> None:
    script = _stand_in(
        tmp_path,
        "echo 'stopped mastodon-web.service'\necho 'removed /var/lib/mastodon'\n"
        f"echo 'warning: nothing else' >&2\necho '{DONE}'",
    )
    first = wipe(
        "127.0.0.1",
        private_key_pem=keys[0],
        host_public_key=sshd.host_public_key,
        command=f"{script} --yes",
        port=sshd.port,
    )
    assert (first.stopped, first.removed) == (["mastodon-web.service"], ["/var/lib/mastodon"])
    _wipe(sshd, keys, str(script))
    assert (tmp_path / "ran").read_text() == "ran --yes\nran \n"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            "echo 'removed /var/lib/mastodon'\necho 'cannot stop postgresql' >&2\nexit 3",
            r"fedipanel-wipe failed on 127\.0\.0\.1 \(exit status 3\): cannot stop postgresql",
        ),
        ("echo 'removed /var/lib/mastodon'", "exited without confirming the wipe"),
        (f"echo '{DONE}'\necho 'one more thing'", "exited without confirming the wipe"),
    ],
)
def test_a_wipe_that_fails_or_does_not_confirm_is_an_error(
    sshd: Sshd, keys: tuple[str, str], tmp_path: Path, body: str, message: str
) -> None:
    script = _stand_in(tmp_path, body)
    with pytest.raises(WipeError, match=message):
        _wipe(sshd, keys, str(script))


def test_a_missing_wipe_command_is_an_error(sshd: Sshd, keys: tuple[str, str]) -> None:
    with pytest.raises(WipeError, match="exit status 127"):
        _wipe(sshd, keys, "/nonexistent/fedipanel-wipe")


def test_a_wrong_host_key_is_refused_before_anything_runs(
    sshd: Sshd, keys: tuple[str, str], tmp_path: Path
) -> None:
    script = _stand_in(tmp_path, f"echo '{DONE}'")
    with pytest.raises(WipeError, match=r"ssh to root@127\.0\.0\.1:\d+ failed"):
        _wipe(sshd, keys, str(script), host_key=keypair()[1])
    assert not (tmp_path / "ran").exists()


@pytest.mark.parametrize("command", ["", "  ", "'unterminated"])
def test_an_unusable_wipe_command_is_refused_before_connecting(command: str) -> None:
    with pytest.raises(WipeError, match="wipe command"):
        wipe("127.0.0.1", private_key_pem="", host_public_key="", command=command)
