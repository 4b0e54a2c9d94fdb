"""Small secrets kept as files in the instance folder (the session key, the set-up code)."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path


def private_folder(path: Path) -> None:
    """Create the folder for its owner alone (0700), or take group and others' access away."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    _owner_only(path)


def private_file(path: Path) -> None:
    """Create an empty file for its owner alone (0600), or take group and others' access away."""
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        _owner_only(path)


def _owner_only(path: Path) -> None:
    mode = path.stat().st_mode & 0o777
    if mode & 0o077:
        path.chmod(mode & 0o700)


def read_or_create(path: Path, make: Callable[[], str]) -> str:
    """Return the value stored at `path`, creating it (mode 0600) with `make()` on first use."""
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    value = make()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process created it first: use theirs
        return path.read_text().strip()
    with os.fdopen(fd, "w") as handle:
        handle.write(value)
    return value
