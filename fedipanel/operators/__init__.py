"""The provider's view of its operators: create accounts, see their deployments."""

from flask import Blueprint

bp = Blueprint("operators", __name__, url_prefix="/provider")

from fedipanel.operators import views  # noqa: E402, F401
