"""Bearer-token authentication for the API."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

from flask import g, jsonify, request

from fedipanel.accounts.models import User
from fedipanel.accounts.users import user_for_token

F = TypeVar("F", bound=Callable[..., Any])


def api_error(status: int, msg: str, loc: list[Any] | None = None) -> Any:
    """Answer with the API's error shape."""
    response = jsonify({"errors": [{"loc": loc or [], "msg": msg}]})
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="fedipanel"'
    return response


def api_operator() -> User:
    """Return the operator the current API request acts for."""
    return cast(User, g.api_user)


def _bearer_token_of(
    role_check: Callable[[User], bool], refusal: str, *, while_disabled: bool = False
) -> Callable[[F], F]:
    """Build a decorator that requires a valid bearer token of a user passing `role_check`.

    `while_disabled` lets a disabled account's token through (to follow its own deletion).
    """

    def decorator(view: F) -> F:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            scheme, _, token = request.headers.get("Authorization", "").partition(" ")
            if scheme.lower() != "bearer" or not token.strip():
                return api_error(401, "missing bearer token: send 'Authorization: Bearer <token>'")
            user = user_for_token(token.strip(), while_disabled=while_disabled)
            if user is None:
                return api_error(401, "unknown or revoked token")
            if not role_check(user):
                return api_error(403, refusal)
            g.api_user = user
            return view(*args, **kwargs)

        return cast(F, wrapped)

    return decorator


token_required = _bearer_token_of(
    lambda user: user.is_operator, "this endpoint acts for an operator account"
)
provider_token_required = _bearer_token_of(
    lambda user: user.is_provider, "this endpoint acts for the provider"
)
# For following one's own account deletion: disabled accounts' tokens pass too.
any_token_required = _bearer_token_of(lambda _user: True, "", while_disabled=True)
# Routes that answer operators and the provider differently.
role_token_required = _bearer_token_of(lambda _user: True, "")
