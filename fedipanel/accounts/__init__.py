"""Accounts: providers and operators, login, API tokens."""

from flask import Blueprint

bp = Blueprint("accounts", __name__)

from fedipanel.accounts import views  # noqa: E402, F401
