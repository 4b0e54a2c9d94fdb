"""Fixtures: the database a test's app uses, SQLite by default or a real PostgreSQL server.

A test marked `both_databases` runs twice, as `[sqlite]` and `[postgresql]`. The PostgreSQL
server (Debian's `postgresql`: `initdb` and `pg_ctl`) starts once per session in a temporary
directory, listening on 127.0.0.1 on a free port and on a unix socket in that directory, with
trust authentication for those two only; each test gets a fresh empty database of its own.
"""

from __future__ import annotations

import glob
import os
import pwd
import secrets
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tests.helpers import free_port, require

# The role the panel connects as: it owns its database but is no superuser, as in production.
APP_ROLE = "fedipanel"
SUPERUSER = "postgres"
HBA = (
    "# Loopback only: the unix socket in this directory and 127.0.0.1.\n"
    "local all all trust\n"
    "host all all 127.0.0.1/32 trust\n"
)


def server_programs() -> Path | None:
    """Return the directory holding `initdb` and `pg_ctl`: Debian's newest, else PATH's."""
    debian = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"),
        key=lambda path: int(Path(path).parts[-3]) if Path(path).parts[-3].isdigit() else 0,
    )
    found = debian[-1] if debian else shutil.which("pg_ctl")
    if found is None or not Path(found).with_name("initdb").exists():
        return None
    return Path(found).parent


class PostgresServer:
    """One throwaway PostgreSQL cluster: started by `start`, removed by `stop`."""

    def __init__(self, programs: Path, directory: Path, port: int) -> None:
        self.programs = programs
        self.directory = directory
        self.data = directory / "data"
        self.log = directory / "server.log"
        self.port = port
        self._as_user: dict[str, Any] = {}
        if os.geteuid() == 0:
            # initdb refuses root: the cluster belongs to the `postgres` system user.
            user = pwd.getpwnam(SUPERUSER)
            os.chown(directory, user.pw_uid, user.pw_gid)
            self._as_user = {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": []}

    def _run(self, *args: str) -> None:
        environment = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        result = subprocess.run(
            [str(self.programs / args[0]), *args[1:]],
            cwd=self.directory,
            env=environment,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            check=False,
            **self._as_user,
        )
        if result.returncode != 0:
            log = self.log.read_text(errors="replace") if self.log.exists() else ""
            pytest.fail(f"{args[0]} {args[1]} failed:\n{result.stdout}{result.stderr}{log}")

    def start(self) -> None:
        self._run(
            "initdb",
            "--pgdata",
            str(self.data),
            "--username",
            SUPERUSER,
            "--auth",
            "trust",
            "--encoding",
            "UTF8",
            "--no-locale",
            "--no-sync",
        )
        (self.data / "pg_hba.conf").write_text(HBA)
        settings = {
            "listen_addresses": "127.0.0.1",
            "port": self.port,
            "unix_socket_directories": self.directory,
            # Throwaway data: durability costs time and buys nothing here.
            "fsync": "off",
            "synchronous_commit": "off",
            "full_page_writes": "off",
        }
        with (self.data / "postgresql.conf").open("a") as conf:
            conf.writelines(f"{name} = '{value}'\n" for name, value in settings.items())
        # -w: return once the server accepts connections (or fail after -t seconds).
        self._run("pg_ctl", "start", "-w", "-t", "60", "-D", str(self.data), "-l", str(self.log))
        self.execute(f"CREATE ROLE {APP_ROLE} LOGIN")

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self._run("pg_ctl", "stop", "-w", "-m", "immediate", "-D", str(self.data))

    def execute(self, statement: str, params: tuple[Any, ...] = ()) -> None:
        """Run one statement as the superuser, outside a transaction."""
        dsn = f"host={self.directory} port={self.port} user={SUPERUSER} dbname=postgres"
        with psycopg.connect(dsn, autocommit=True) as connection:
            connection.execute(statement, params or None)

    def url(self, database: str) -> str:
        """Return the SQLAlchemy URL the panel uses for `database` (TCP, as in production)."""
        return f"postgresql+psycopg://{APP_ROLE}@127.0.0.1:{self.port}/{database}"


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """Start one PostgreSQL server for the whole session; stop and remove it afterwards."""
    programs = server_programs()
    require(programs is not None, "PostgreSQL's initdb and pg_ctl are not installed (postgresql)")
    assert programs is not None
    if os.geteuid() == 0:
        try:
            pwd.getpwnam(SUPERUSER)
        except KeyError:
            require(False, f"running as root needs the `{SUPERUSER}` system user for initdb")
    # Not under pytest's own temporary directory: that one is private to this user.
    directory = Path(tempfile.mkdtemp(prefix="fedipanel-pg-"))
    server = PostgresServer(programs, directory, free_port())
    try:
        server.start()
        yield server
    finally:
        try:
            server.stop()
        finally:
            shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture
def postgres_database(postgres_server: PostgresServer) -> Iterator[str]:
    """Create an empty database owned by the panel's role; yield its URL; drop it afterwards."""
    name = f"test_{secrets.token_hex(6)}"
    postgres_server.execute(f"CREATE DATABASE {name} OWNER {APP_ROLE}")
    yield postgres_server.url(name)
    # FORCE: a worker process or a leaked pool may still be connected.
    postgres_server.execute(f"DROP DATABASE {name} WITH (FORCE)")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Run the tests marked `both_databases` once per database."""
    if metafunc.definition.get_closest_marker("both_databases"):
        if "database" not in metafunc.fixturenames:
            raise pytest.UsageError(
                f"{metafunc.definition.nodeid} is marked both_databases but uses no app or "
                "database_url fixture"
            )
        metafunc.parametrize(
            "database",
            [
                pytest.param("sqlite"),
                pytest.param("postgresql", marks=pytest.mark.external),
            ],
            indirect=True,
        )


@pytest.fixture
def database(request: pytest.FixtureRequest) -> str:
    """The database the test's app uses: SQLite unless the test is marked `both_databases`."""
    return str(getattr(request, "param", "sqlite"))


@pytest.fixture
def database_url(database: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """FEDIPANEL_DATABASE_URL for the test's app (and its worker processes)."""
    if database == "postgresql":
        return str(request.getfixturevalue("postgres_database"))
    return f"sqlite:///{tmp_path / 'fedipanel.sqlite3'}"
