"""FediPanel: the hosting provider's panel for Fediverse services on NixOS."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask

from fedipanel import settings

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """Create the panel: load settings, set up extensions, register blueprints and commands."""
    instance_path = (test_config or {}).get("INSTANCE_PATH") or os.environ.get(
        "FEDIPANEL_INSTANCE_PATH", str(PROJECT_ROOT / "instance")
    )
    app = Flask(
        __name__,
        instance_path=str(instance_path),
        instance_relative_config=True,
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder=str(PROJECT_ROOT / "static"),
    )
    settings.load(app, test_config)

    from fedipanel import extensions, web

    extensions.init_app(app)
    web.init_app(app)

    from fedipanel.accounts import bp as accounts_bp
    from fedipanel.api import bp as api_bp
    from fedipanel.cli import cli
    from fedipanel.configurations import bp as configurations_bp
    from fedipanel.deployments import bp as deployments_bp
    from fedipanel.deployments.queue import init_queue
    from fedipanel.machines import bp as machines_bp
    from fedipanel.operators import bp as operators_bp
    from fedipanel.provider_settings import bp as provider_settings_bp
    from fedipanel.storage import bp as storage_bp  # also adds its provider API routes

    app.register_blueprint(accounts_bp)
    app.register_blueprint(configurations_bp)
    app.register_blueprint(deployments_bp)
    app.register_blueprint(operators_bp)
    app.register_blueprint(machines_bp)
    app.register_blueprint(provider_settings_bp)
    app.register_blueprint(storage_bp)
    app.register_blueprint(api_bp)
    extensions.csrf.exempt(api_bp)
    app.cli.add_command(cli)
    init_queue(app)
    return app
