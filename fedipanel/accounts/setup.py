"""The one-time code that guards creating the first provider account."""

from __future__ import annotations

import secrets
from pathlib import Path

from fedipanel.instance_files import read_or_create


def setup_code(instance_path: str) -> str:
    """Return the set-up code, creating it in the instance folder on first use."""
    return read_or_create(Path(instance_path) / "setup-code", lambda: secrets.token_hex(4))
