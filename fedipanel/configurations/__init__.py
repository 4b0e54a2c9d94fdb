"""Operator configurations: versioned, validated, with history."""

from flask import Blueprint

bp = Blueprint("configurations", __name__)

from fedipanel.configurations import views  # noqa: E402, F401
