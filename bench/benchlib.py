"""Shared pieces of the HTTP benchmarks: a seeded panel, local servers and a keep-alive client.

Also the server process itself: `python bench/benchlib.py serve app|bare` serves the real panel
(configured by FEDIPANEL_* variables) or a bare one-route Flask app with werkzeug's threaded
server on 127.0.0.1, and prints `PORT <n>` once it listens. With `Server(..., server="gunicorn")`
the same two apps run under gunicorn (GUNICORN_WORKERS processes of GUNICORN_THREADS threads).
"""

from __future__ import annotations

import contextlib
import http.client
import json
import logging
import os
import re
import selectors
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BENCH = Path(__file__).resolve().parent
PASSWORD = "bench horse battery staple"  # noqa: S105 (a throwaway account in a temp database)
OPERATOR_EMAIL = "op@acme.example"
PROVIDER_EMAIL = "admin@provider.example"
CONFIG = {
    "domain": "acme.example",
    "admin": {"username": "alice", "email": "alice@acme.example"},
    "services": {
        "mastodon": {"enable": True},
        "pixelfed": {"enable": False},
        "peertube": {"enable": True},
    },
}
START_TIMEOUT = 30.0
STOP_GRACE = 5.0
SERVERS = ("werkzeug", "gunicorn")
# One process, as the README runs a panel with the embedded queue (this benchmark's). With two,
# the kernel spreads the client's 4 keep-alive connections over them as it likes (often 3 and 1):
# one process then serves most requests alone while the other idles, and the ratios swung from
# 0.23 to 1.58 between runs of the same code.
GUNICORN_WORKERS = 1
GUNICORN_THREADS = 4

if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def clean_environment(**settings: Any) -> dict[str, str]:
    """Return this process's environment without FEDIPANEL_* leftovers, plus `settings`."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("FEDIPANEL_", "FAKE_NIXOPS4_", "BENCH_"))
    }
    env["PYTHONUNBUFFERED"] = "1"
    for name, value in settings.items():
        env[name] = str(value)
    return env


def panel_environment(tmp: Path, **settings: Any) -> dict[str, str]:
    """FEDIPANEL_* settings for a panel on a SQLite file in `tmp` (web server and workers)."""
    base = {
        "FEDIPANEL_INSTANCE_PATH": tmp / "instance",
        "FEDIPANEL_DATABASE_URL": f"sqlite:///{tmp / 'fedipanel.sqlite3'}",
        "FEDIPANEL_SECRET_KEY": "bench-secret-key-" + "x" * 32,
        "FEDIPANEL_SIMULATOR_STEP_DELAY": 0,
    }
    base.update({f"FEDIPANEL_{k}": v for k, v in settings.items()})
    return clean_environment(**base)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --- seeding the database -------------------------------------------------------------------


@dataclass
class Seeded:
    operator_id: int
    deployment_id: int
    token: str


def panel_app(env: Mapping[str, str]) -> Any:
    """Create the panel in this process with the same settings as the servers in `env`."""
    from fedipanel import create_app

    prefix = "FEDIPANEL_"
    settings: dict[str, Any] = {k[len(prefix) :]: v for k, v in env.items() if k.startswith(prefix)}
    settings.setdefault("REDIS_URL", None)
    settings.setdefault("NIXOPS4", None)
    settings["SIMULATOR_STEP_DELAY"] = 0
    return create_app(settings)


def seed(app: Any, log_lines: int = 0, history: int = 0) -> Seeded:
    """Create the schema, a provider, an operator with a configuration and a token.

    With `log_lines`, also run one (simulated) deployment on the embedded queue and pad its log
    to that many lines, so pages show a realistic finished deployment. With `history`, that many
    finished deployments come before it.
    """
    from fedipanel.accounts import users as accounts
    from fedipanel.configurations.versions import save_configuration
    from fedipanel.db import db
    from fedipanel.deployments.lifecycle import start_deployment
    from fedipanel.deployments.models import LogLine
    from fedipanel.settings import effective

    with app.app_context():
        db.create_all()
        accounts.create_user(PROVIDER_EMAIL, PASSWORD, "provider")
        operator = accounts.create_user(OPERATOR_EMAIL, PASSWORD, "operator", "acme")
        save_configuration(operator, CONFIG, source="web", author=operator)
        token = accounts.create_token(operator, "bench")
        add_deployments(app, [operator.id], history)
        deployment_id = 0
        if log_lines:
            deployment = start_deployment(operator, effective.current(), requested_by=operator)
            deployment_id = deployment.id
            app.extensions["fedipanel.queue"].join()
            have = db.session.query(LogLine).filter_by(deployment_id=deployment_id).count()
            db.session.add_all(
                LogLine(
                    deployment_id=deployment_id,
                    line=f"mastodon: building /nix/store/{n:032x}-bench-{n}.drv",
                )
                for n in range(max(0, log_lines - have))
            )
            db.session.commit()
        result = Seeded(operator.id, deployment_id, token)
        db.session.remove()
    return result


def add_deployments(app: Any, operator_ids: list[int], each: int) -> None:
    """Record `each` finished deployments (no log) for every operator, in bulk."""
    from sqlalchemy import insert

    from fedipanel.db import db
    from fedipanel.deployments.models import Deployment

    rows = [
        {"operator_id": op, "status": "succeeded", "phase": "Deployed", "progress": 100}
        for op in operator_ids
        for _ in range(each)
    ]
    with app.app_context():
        for start in range(0, len(rows), 10_000):
            db.session.execute(insert(Deployment), rows[start : start + 10_000])
        db.session.commit()


def add_operators(app: Any, count: int) -> list[int]:
    """Create `count` operators in bulk (they cannot log in); return their ids."""
    from sqlalchemy import insert, select

    from fedipanel.accounts.models import User
    from fedipanel.db import db

    with app.app_context():
        db.session.execute(
            insert(User),
            [
                {
                    "email": f"op{n:05d}@customer{n}.example",
                    "role": "operator",
                    "slug": f"customer{n}",
                    "password_hash": "!",
                }
                for n in range(count)
            ],
        )
        db.session.commit()
        ids = list(db.session.scalars(select(User.id).where(User.slug.like("customer%"))))
        db.session.remove()
    return ids


# --- servers ------------------------------------------------------------------------------


class Server:
    """A benchmark server process on 127.0.0.1; use as a context manager."""

    def __init__(
        self, kind: str, env: Mapping[str, str], log_path: Path, server: str = "werkzeug"
    ) -> None:
        self.kind = kind
        self.env = dict(env)
        self.log_path = log_path
        self.server = server
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Server:
        if self.server == "gunicorn":
            return self._start_gunicorn()
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, str(Path(__file__).resolve()), "serve", self.kind],
                cwd=ROOT,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=log,
            )
        assert self.process.stdout is not None
        line = _read_line(self.process.stdout, START_TIMEOUT)
        if not line.startswith("PORT "):
            self.stop()
            raise RuntimeError(
                f"{self.kind} server did not start: {line!r}\n{self.log_path.read_text()}"
            )
        self.port = int(line.split()[1])
        return self

    def _start_gunicorn(self) -> Server:
        self.port = free_port()
        target = "wsgi:app" if self.kind == "app" else "benchlib:bare_app()"
        command = [sys.executable, "-m", "gunicorn", "--pythonpath", str(BENCH)]
        command += ["-w", str(GUNICORN_WORKERS), "-k", "gthread"]
        command += ["--threads", str(GUNICORN_THREADS), "-b", f"127.0.0.1:{self.port}", target]
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                command, cwd=ROOT, env=self.env, stdin=subprocess.DEVNULL, stderr=log, stdout=log
            )
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline and self.process.poll() is None:
            try:
                status, _h, _b = Client(self.port).request(
                    "GET", "/healthz" if self.kind == "app" else "/"
                )
            except OSError:
                time.sleep(0.1)
                continue
            if status == 200:
                return self
        self.stop()
        raise RuntimeError(f"gunicorn ({self.kind}) did not start:\n{self.log_path.read_text()}")

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        stop_process(self.process)


def stop_process(process: subprocess.Popen[Any] | None) -> None:
    """Terminate a process this benchmark started, then kill it if it lingers."""
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(STOP_GRACE)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _read_line(stream: Any, timeout: float) -> str:
    """Read one line from a pipe, giving up after `timeout` seconds."""
    selector = selectors.DefaultSelector()
    selector.register(stream, selectors.EVENT_READ)
    buffer = b""
    deadline = time.monotonic() + timeout
    try:
        while b"\n" not in buffer and time.monotonic() < deadline:
            if selector.select(max(0.0, deadline - time.monotonic())):
                chunk = os.read(stream.fileno(), 4096)
                if not chunk:
                    break
                buffer += chunk
    finally:
        selector.close()
    return buffer.decode(errors="replace").strip()


def bare_app() -> Any:
    """Return the baseline: a Flask app with one route answering "Hello"."""
    from flask import Flask

    app = Flask("bare")

    @app.get("/")
    def hello() -> str:
        return "Hello"

    return app


def serve(kind: str) -> None:
    """Serve the panel or the bare app until terminated (runs in the server process)."""
    from werkzeug.serving import make_server

    if kind == "bare":
        app = bare_app()
    else:
        from fedipanel import create_app

        app = create_app()
    # Both servers skip werkzeug's per-request access log: a production server logs elsewhere.
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    print(f"PORT {server.server_port}", flush=True)
    server.serve_forever()


# --- the client ---------------------------------------------------------------------------


class Client:
    """A keep-alive HTTP/1.1 connection with a cookie and default headers."""

    def __init__(self, port: int, headers: Mapping[str, str] | None = None) -> None:
        self.port = port
        self.headers = dict(headers or {})
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

    def request(
        self, method: str, path: str, body: bytes | None = None, **headers: str
    ) -> tuple[int, dict[str, str], bytes]:
        all_headers = {**self.headers, **headers}
        try:
            self.conn.request(method, path, body=body, headers=all_headers)
            response = self.conn.getresponse()
        except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
            # The server closed an idle keep-alive connection: reconnect once.
            self.conn.close()
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
            self.conn.request(method, path, body=body, headers=all_headers)
            response = self.conn.getresponse()
        data = response.read()
        got = {k.lower(): v for k, v in response.getheaders()}
        cookies = response.headers.get_all("Set-Cookie") or []
        if cookies:
            got["set-cookie"] = "\n".join(cookies)
        return response.status, got, data

    def get_json(self, path: str) -> Any:
        status, _headers, data = self.request("GET", path)
        if status != 200:
            raise RuntimeError(f"GET {path} answered {status}: {data[:300]!r}")
        return json.loads(data)

    def close(self) -> None:
        self.conn.close()


def _session_cookie(headers: Mapping[str, str]) -> str | None:
    jar: SimpleCookie = SimpleCookie()
    for header in headers.get("set-cookie", "").split("\n"):
        if header:
            jar.load(header)
    morsel = jar.get("session")
    return None if morsel is None else morsel.value


def login(port: int, email: str = OPERATOR_EMAIL, password: str = PASSWORD) -> str:
    """Log in through the real form (with its CSRF token); return the session cookie header."""
    client = Client(port)
    try:
        status, headers, body = client.request("GET", "/login")
        token = re.search(rb'name="csrf_token" value="([^"]+)"', body)
        cookie = _session_cookie(headers)
        if status != 200 or token is None or cookie is None:
            raise RuntimeError(f"GET /login answered {status} without a form")
        form = urllib.parse.urlencode(
            {"csrf_token": token.group(1).decode(), "email": email, "password": password}
        ).encode()
        status, headers, _ = client.request(
            "POST",
            "/login",
            form,
            Cookie=f"session={cookie}",
            **{"Content-Type": "application/x-www-form-urlencoded"},
        )
        cookie = _session_cookie(headers)
        if status != 302 or cookie is None:
            raise RuntimeError(f"POST /login answered {status}")
        # The first page puts a CSRF token in the session; a browser keeps the updated cookie.
        status, headers, _ = client.request("GET", "/dashboard", Cookie=f"session={cookie}")
        return f"session={_session_cookie(headers) or cookie}"
    finally:
        client.close()


@dataclass
class LoadResult:
    requests: int
    seconds: float
    errors: int
    cookies_set: int
    bytes_per_response: int

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def load(
    port: int,
    path: str,
    *,
    total: int,
    threads: int,
    warmup: int,
    expect: int = 200,
    headers: Mapping[str, str] | None = None,
    time_limit: float = 60.0,
) -> LoadResult:
    """Send `total` GETs of `path` from `threads` keep-alive connections; measure the wall time.

    `warmup` requests go first on every connection and are not counted. Stops early (and says
    so through a smaller `requests`) if `time_limit` seconds pass.
    """
    clients = [Client(port, headers) for _ in range(threads)]
    for client in clients:
        for _ in range(max(1, warmup // threads)):
            status, _h, _b = client.request("GET", path)
            if status != expect:
                raise RuntimeError(f"GET {path} answered {status}, expected {expect}")

    lock = threading.Lock()
    remaining = [total]
    done = [0, 0, 0, 0]  # requests, errors, responses that set a cookie, bytes
    deadline = time.monotonic() + time_limit
    barrier = threading.Barrier(threads + 1)

    def worker(client: Client) -> None:
        count = errors = cookies = size = 0
        barrier.wait()
        while time.monotonic() < deadline:
            with lock:
                if remaining[0] <= 0:
                    break
                remaining[0] -= 1
            status, got, body = client.request("GET", path)
            count += 1
            size += len(body)
            errors += status != expect
            cookies += "set-cookie" in got
        with lock:
            done[0] += count
            done[1] += errors
            done[2] += cookies
            done[3] += size

    workers = [threading.Thread(target=worker, args=(c,), daemon=True) for c in clients]
    for thread in workers:
        thread.start()
    barrier.wait()
    start = time.perf_counter()
    for thread in workers:
        thread.join(time_limit + 30)
    seconds = time.perf_counter() - start
    for client in clients:
        client.close()
    return LoadResult(done[0], seconds, done[1], done[2], done[3] // max(1, done[0]))


@contextlib.contextmanager
def quiet_logging() -> Iterator[None]:
    """Silence the panel's own loggers while seeding in the benchmark process."""
    previous = logging.root.level
    logging.root.setLevel(logging.WARNING)
    try:
        yield
    finally:
        logging.root.setLevel(previous)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "serve" and sys.argv[2] in ("app", "bare"):
        serve(sys.argv[2])
    else:
        sys.exit("usage: benchlib.py serve app|bare")
