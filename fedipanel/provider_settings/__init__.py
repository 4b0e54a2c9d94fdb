"""The provider's settings: infrastructure connections, kept in the database or the environment."""

from flask import Blueprint

bp = Blueprint("provider_settings", __name__, url_prefix="/provider/settings")

from fedipanel.provider_settings import views  # noqa: E402, F401
