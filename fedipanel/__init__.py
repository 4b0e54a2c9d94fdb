"""FediPanel: the hosting provider's panel for Fediverse services on NixOS."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """Create the panel: settings, database and job queue, then its pages, API and commands."""
    # Imported here so that `import fedipanel.x` in a worker does not load the web side.
    from fedipanel.runtime import create_base_app
    from fedipanel.web import init_web

    app = create_base_app(test_config)
    init_web(app)
    return app
