"""The one-time code that guards creating the first provider account."""

from __future__ import annotations

import os
import secrets
from pathlib import Path


def setup_code(instance_path: str) -> str:
    """Return the set-up code, creating it (mode 0600) in the instance folder on first use."""
    path = Path(instance_path) / "setup-code"
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    code = secrets.token_hex(4)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(code)
    return code
