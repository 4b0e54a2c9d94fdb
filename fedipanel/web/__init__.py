"""The web side: pages, the JSON API and the command line, on top of the application packages."""

from __future__ import annotations

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from fedipanel.web import (
    accounts,
    audit_pages,
    configurations,
    deletions,
    deployments,
    errors,
    identity,
    machines,
    mail,
    maintenance,
    notices,
    operators,
    provider_settings,
    rollouts,
    services,
    storage,
)
from fedipanel.web.api import bp as api_bp
from fedipanel.web.cached_answers import init_cached_answers
from fedipanel.web.cli import cli
from fedipanel.web.converters import IdConverter
from fedipanel.web.extensions import csrf, init_extensions
from fedipanel.web.form_text import init_form_text
from fedipanel.web.i18n import init_i18n
from fedipanel.web.links import init_links
from fedipanel.web.page_cache import init_page_cache
from fedipanel.web.session_cookie import init_session_cookie


def init_web(app: Flask) -> None:
    """Register the extensions, error handling, blueprints and commands on `app`."""
    # Innermost: it sees the environ as Flask will (after ProxyFix).
    init_cached_answers(app)
    proxies = int(app.config["TRUSTED_PROXIES"])
    if proxies:
        # Behind reverse proxies the client's address is in X-Forwarded-For: trust only as many
        # hops as the provider runs, so a client cannot claim another address.
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies
        )
    # Replaces the default `int` converter before any route is added, so every id is bounded.
    app.url_map.converters["int"] = IdConverter
    init_extensions(app)
    init_session_cookie(app)
    init_i18n(app)
    errors.init_errors(app)
    init_form_text(app)
    init_links(app)
    init_page_cache(app)
    for module in (
        accounts,
        configurations,
        deletions,
        deployments,
        identity,
        operators,
        machines,
        maintenance,
        notices,
        provider_settings,
        rollouts,
        storage,
        services,
        audit_pages,
        mail,
    ):
        app.register_blueprint(module.bp)
    app.register_blueprint(api_bp)
    for name, blueprint in app.blueprints.items():
        if name == "api" or name.startswith("api."):
            csrf.exempt(blueprint)
    app.cli.add_command(cli)
