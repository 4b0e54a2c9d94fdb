"""The web side's Flask extensions: logins and CSRF protection."""

from __future__ import annotations

from flask import Flask
from flask_babel import gettext
from flask_login import LoginManager
from flask_wtf.csrf import CSRFProtect

from fedipanel.core.text import N_

login_manager = LoginManager()
csrf = CSRFProtect()


def init_extensions(app: Flask) -> None:
    """Bind the login manager and CSRF protection to `app`."""
    login_manager.init_app(app)
    login_manager.login_view = "accounts.login"
    login_manager.login_message = N_("Please log in to continue.")
    login_manager.localize_callback = gettext
    csrf.init_app(app)
