"""Deployments: the durable record of one apply, its progress and its log."""

from flask import Blueprint

bp = Blueprint("deployments", __name__)

from fedipanel.deployments import views  # noqa: E402, F401
