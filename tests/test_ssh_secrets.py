"""Secret delivery over SSH against a real sshd on loopback."""

from __future__ import annotations

import stat
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from fedipanel.providers.ssh_secrets import DeliveryError, deliver
from tests.sshd import Sshd, keypair, run_sshd

# Starts programs of its own (sshd, nix, nixops4's fake): not in `make test-fast`.
pytestmark = pytest.mark.external


@pytest.fixture(scope="module")
def keys() -> tuple[str, str]:
    return keypair()


@pytest.fixture(scope="module")
def sshd(tmp_path_factory: pytest.TempPathFactory, keys: tuple[str, str]) -> Iterator[Sshd]:
    yield from run_sshd(tmp_path_factory.mktemp("sshd"), keys[1])


def test_delivers_files_root_owned_0400_idempotently_and_removes_stale_ones(
    sshd: Sshd, keys: tuple[str, str], tmp_path: Path
) -> None:
    target = tmp_path / "keys"
    args = {
        "private_key_pem": keys[0],
        "host_public_key": sshd.host_public_key,
        "port": sshd.port,
        "directory": str(target),
    }
    files = {
        "mastodon-s3.env": "AWS_ACCESS_KEY_ID=GK1\nAWS_SECRET_ACCESS_KEY=s3cr3t\n",
        "smtp-password": "pw",
    }
    first = deliver("127.0.0.1", files, **args)
    assert sorted(first.written) == ["mastodon-s3.env", "smtp-password"]
    for name, content in files.items():
        path = target / name
        assert path.read_text() == content
        info = path.stat()
        assert stat.S_IMODE(info.st_mode) == 0o400
        assert (info.st_uid, info.st_gid) == (0, 0)
    assert stat.S_IMODE(target.stat().st_mode) == 0o700
    before = (target / "smtp-password").stat().st_mtime_ns

    (target / "old-s3.env").write_text("stale")
    second = deliver("127.0.0.1", {**files, "mastodon-s3.env": "AWS_ACCESS_KEY_ID=GK2\n"}, **args)
    assert second.unchanged == ["smtp-password"]
    assert second.written == ["mastodon-s3.env"]
    assert second.removed == ["old-s3.env"]
    assert (target / "smtp-password").stat().st_mtime_ns == before
    assert (target / "mastodon-s3.env").read_text() == "AWS_ACCESS_KEY_ID=GK2\n"
    assert sorted(p.name for p in target.iterdir()) == ["mastodon-s3.env", "smtp-password"]

    third = deliver("127.0.0.1", {}, **args)
    assert sorted(third.removed) == ["mastodon-s3.env", "smtp-password"]
    assert list(target.iterdir()) == []


def test_wrong_host_key_is_refused(sshd: Sshd, keys: tuple[str, str], tmp_path: Path) -> None:
    other = keypair()[1]
    with pytest.raises(DeliveryError, match=r"ssh to root@127\.0\.0\.1"):
        deliver(
            "127.0.0.1",
            {"a": "b"},
            private_key_pem=keys[0],
            host_public_key=other,
            port=sshd.port,
            directory=str(tmp_path / "keys"),
        )
    assert not (tmp_path / "keys").exists()


def test_a_key_the_machine_does_not_know_is_refused(sshd: Sshd, tmp_path: Path) -> None:
    with pytest.raises(DeliveryError, match="Permission denied"):
        deliver(
            "127.0.0.1",
            {"a": "b"},
            private_key_pem=keypair()[0],
            host_public_key=sshd.host_public_key,
            port=sshd.port,
            directory=str(tmp_path / "keys"),
        )


def test_unsafe_file_names_are_refused_before_connecting() -> None:
    with pytest.raises(DeliveryError, match="refusing"):
        deliver("127.0.0.1", {"../etc/passwd": "x"}, private_key_pem="", host_public_key="")


def test_deliveries_to_one_directory_at_the_same_time_take_turns(
    sshd: Sshd, keys: tuple[str, str], tmp_path: Path
) -> None:
    # Machines of one deployment get their secrets at once; in tests they share a file system.
    target = tmp_path / "keys"
    args = {
        "private_key_pem": keys[0],
        "host_public_key": sshd.host_public_key,
        "port": sshd.port,
        "directory": str(target),
    }
    batches = [{f"m{n}-{i}": f"secret {n} {i}" for i in range(20)} for n in range(4)]
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda files: deliver("127.0.0.1", files, **args), batches))
    for files, result in zip(batches, results, strict=True):
        assert sorted(result.written + result.unchanged) == sorted(files)
    # Whichever came last left exactly its own files.
    left = sorted(p.name for p in target.iterdir())
    assert left in [sorted(files) for files in batches]
