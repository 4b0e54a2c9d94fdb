"""What only a database server does: it may close the panel's idle connections."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import make_url

from tests.helpers import Api, sample_config
from tests.plugins.postgres import PostgresServer


@pytest.mark.external
@pytest.mark.parametrize("database", ["postgresql"], indirect=True)
def test_request_after_the_server_closed_idle_connections_succeeds(
    operator_api: Api, database_url: str, postgres_server: PostgresServer
) -> None:
    """A restarted server (or a proxy's idle timeout) must not fail the next request."""
    assert operator_api.put("/configuration", sample_config()).status_code == 200
    postgres_server.execute(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
        (make_url(database_url).database,),
    )
    response = operator_api.get("/configuration")
    assert response.status_code == 200
    assert response.get_json()["version"] == 1
