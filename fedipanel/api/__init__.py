"""The JSON API under /api/v1, authenticated with bearer tokens."""

from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api/v1")

from fedipanel.api import views  # noqa: E402, F401
