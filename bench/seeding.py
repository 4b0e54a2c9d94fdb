"""Many operators for the benchmarks that deploy: each with a configuration and an API token."""

from __future__ import annotations

from typing import Any

from benchlib import PASSWORD


def seed_operators(app: Any, count: int) -> list[tuple[int, str]]:
    """Create the schema and `count` operators with configurations; return (id, token) pairs."""
    from fedipanel.accounts import users as accounts
    from fedipanel.configurations.versions import save_configuration
    from fedipanel.db import db

    made = []
    with app.app_context():
        db.create_all()
        for n in range(count):
            operator = accounts.create_user(f"op{n}@bench.example", PASSWORD, "operator", f"op{n}")
            config = {
                "domain": f"op{n}.example",
                "admin": {"username": "alice", "email": f"alice@op{n}.example"},
                "services": {
                    "mastodon": {"enable": True},
                    "pixelfed": {"enable": False},
                    "peertube": {"enable": True},
                },
            }
            save_configuration(operator, config, source="web", author=operator)
            made.append((operator.id, accounts.create_token(operator, "bench")))
        db.session.remove()
    return made
