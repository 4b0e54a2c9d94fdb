"""S3 storage an operator's services use: Garage keys the panel keeps, pre-configured buckets."""

from flask import Blueprint

bp = Blueprint("storage", __name__, url_prefix="/provider")

# Registers the provider pages and the provider API routes (on the api blueprint).
from fedipanel.storage import api as api  # noqa: E402
from fedipanel.storage import views as views  # noqa: E402
