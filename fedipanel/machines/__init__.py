"""Machines the provider hands out: quotas per operator, pre-deployed VMs, static addresses."""

from flask import Blueprint

bp = Blueprint("machines", __name__, url_prefix="/provider")

from fedipanel.machines import views  # noqa: E402, F401
