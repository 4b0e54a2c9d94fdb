"""The pages' cache: a page is served again only while nothing it was built from has changed."""

from __future__ import annotations

import html
import json
import os
import re
import subprocess
import sys
import urllib.parse
from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import text, update

from fedipanel.db import db
from fedipanel.deployments.models import Deployment, LogLine
from fedipanel.web import page_cache
from fedipanel.web.page_cache import EXTENSION, Entry, PageCache
from tests.helpers import ROOT, Auth, Factory, statements_run, wait_for_jobs


@pytest.fixture
def statements(app: Flask) -> Iterator[list[str]]:
    """Every SQL statement the app runs through SQLAlchemy while the test runs."""
    with statements_run(app) as seen:
        yield seen


def logged_in(app: Flask, email: str) -> FlaskClient:
    """Log in and open the first page, which puts the CSRF token in the session."""
    client = app.test_client()
    response = Auth(client).login(email)
    assert response.status_code == 302
    assert client.get(response.headers["Location"], follow_redirects=True).status_code == 200
    return client


def configure(client: FlaskClient, domain: str) -> None:
    form = {"domain": domain, "admin.username": "alice", "admin.email": f"alice@{domain}"}
    form |= {"services.mastodon.enable": "on", "services.peertube.enable": "on"}
    response = client.post("/configuration", data=form)
    assert response.status_code == 302, response.get_data(as_text=True)


def cli(app: Flask, *args: str) -> str:
    """Run the panel's command line in a process of its own, on the app's database."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("FEDIPANEL_")}
    env |= {
        "FEDIPANEL_DATABASE_URL": app.config["DATABASE_URL"],
        "FEDIPANEL_INSTANCE_PATH": app.instance_path,
        "FEDIPANEL_SECRET_KEY": app.config["SECRET_KEY"],
    }
    command = [sys.executable, "-m", "flask", "--app", "wsgi", "fedipanel", *args]
    result = subprocess.run(
        command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.mark.both_databases
def test_a_page_seen_again_is_served_without_reading_the_data(
    app: Flask, factory: Factory, statements: list[str]
) -> None:
    factory.operator("op@acme.example", slug="acme")
    client = logged_in(app, "op@acme.example")
    configure(client, "acme.example")
    client.get("/dashboard")  # shows the message the save left, so it is not kept
    first = client.get("/dashboard")
    statements.clear()

    again = client.get("/dashboard")

    assert again.status_code == 200
    assert again.get_data() == first.get_data()
    assert statements == []  # the tables' versions and the user are read without SQLAlchemy
    assert app.extensions[EXTENSION].hits == 1


@pytest.mark.both_databases
def test_a_change_made_by_another_process_shows_at_once(app: Flask, factory: Factory) -> None:
    factory.provider("admin@provider.example")
    factory.operator("op@acme.example", slug="acme")
    provider = logged_in(app, "admin@provider.example")
    operator = logged_in(app, "op@acme.example")
    assert "disabled" not in provider.get("/provider/operators").get_data(as_text=True)
    assert operator.get("/dashboard").status_code == 200
    assert operator.get("/dashboard").status_code == 200  # served from the cache

    cli(app, "disable-operator", "--email", "op@acme.example")

    assert "disabled" in provider.get("/provider/operators").get_data(as_text=True)
    # The disabled operator's open session ends with the next request, not a period later.
    refused = operator.get("/dashboard")
    assert refused.status_code == 302
    assert "/login" in refused.headers["Location"]


def test_a_saved_configuration_shows_on_the_next_visit(app: Flask, factory: Factory) -> None:
    factory.operator("op@acme.example", slug="acme")
    client = logged_in(app, "op@acme.example")
    configure(client, "acme.example")
    client.get("/dashboard")
    assert "acme.example" in client.get("/dashboard").get_data(as_text=True)

    configure(client, "social.acme.example")

    assert "social.acme.example" in client.get("/dashboard").get_data(as_text=True)


def test_operators_never_get_each_others_pages(app: Flask, factory: Factory) -> None:
    factory.operator("op@acme.example", slug="acme")
    factory.operator("op@shop.example", slug="shop")
    acme = logged_in(app, "op@acme.example")
    shop = logged_in(app, "op@shop.example")
    configure(acme, "acme.example")
    configure(shop, "shop.example")
    acme_page = acme.get("/dashboard").get_data(as_text=True)
    acme.get("/deployments")

    shop_page = shop.get("/dashboard").get_data(as_text=True)

    assert "shop.example" in shop_page
    assert "acme.example" not in shop_page
    assert "acme.example" in acme_page
    assert "op@acme.example" not in shop.get("/deployments").get_data(as_text=True)


def test_each_language_and_time_zone_has_its_own_page(app: Flask, factory: Factory) -> None:
    factory.operator("op@acme.example", slug="acme")
    client = logged_in(app, "op@acme.example")
    english = client.get("/dashboard", headers={"Accept-Language": "en"})
    dutch = client.get("/dashboard", headers={"Accept-Language": "nl"})

    assert '<html lang="en"' in english.get_data(as_text=True)
    assert '<html lang="nl"' in dutch.get_data(as_text=True)
    assert '<html lang="en"' in client.get("/dashboard").get_data(as_text=True)


def test_a_page_with_a_message_is_shown_once_and_not_kept(app: Flask, factory: Factory) -> None:
    factory.operator("op@acme.example", slug="acme")
    client = logged_in(app, "op@acme.example")
    client.get("/dashboard")  # kept without a message
    with client.session_transaction() as session:
        session["_flashes"] = [("message", "A message for the next page.")]

    with_message = client.get("/dashboard").get_data(as_text=True)
    after = client.get("/dashboard").get_data(as_text=True)
    third = client.get("/dashboard").get_data(as_text=True)

    assert "A message for the next page." in with_message
    assert "A message for the next page." not in after
    assert "A message for the next page." not in third


def test_clock_dependent_parts_are_rebuilt_each_period(
    app: Flask, factory: Factory, statements: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    factory.operator("op@acme.example", slug="acme")
    client = logged_in(app, "op@acme.example")
    client.get("/dashboard")
    statements.clear()
    client.get("/dashboard")
    assert statements == []

    now = page_cache.time.time()
    monkeypatch.setattr(page_cache.time, "time", lambda: now + app.config["PAGE_CACHE_SECONDS"])
    client.get("/dashboard")

    assert statements, "the next period builds the page again"


@pytest.mark.parametrize("app_overrides", [{"PAGE_CACHE_SECONDS": 0}])
def test_the_cache_can_be_turned_off(app: Flask, factory: Factory, statements: list[str]) -> None:
    factory.operator("op@acme.example", slug="acme")
    client = logged_in(app, "op@acme.example")
    client.get("/dashboard")
    statements.clear()

    client.get("/dashboard")

    assert EXTENSION not in app.extensions
    assert any("users" in s for s in statements), "the user is read at every request"
    assert len(statements) > 2


def test_the_cache_stays_within_its_size() -> None:
    cache = PageCache(seconds=30, max_bytes=4000)
    for n in range(10):
        cache.put(("page", n), Entry(b"x" * 900, 200, (), ()))

    assert cache.size <= 4000
    assert cache.get(("page", 0)) is None
    assert cache.get(("page", 9)) is not None
    cache.put(("too big",), Entry(b"x" * 1001, 200, (), ()))
    assert cache.get(("too big",)) is None


def test_an_entry_is_current_only_with_every_version_it_was_built_from() -> None:
    entry = Entry(b"page", 200, (), (("deployments", 3), ("users", 1)))

    assert entry.current({"deployments": 3, "users": 1, "log_lines": 9})
    assert not entry.current({"deployments": 4, "users": 1})
    assert not entry.current({"users": 1})


def test_only_complete_pages_are_kept(app: Flask, factory: Factory) -> None:
    factory.provider("admin@provider.example")
    client = logged_in(app, "admin@provider.example")
    client.get("/provider/operators")
    client.get("/dashboard")  # refused: an operator's page

    cache = app.extensions[EXTENSION]
    assert [key[0] for key in cache._entries] == ["/provider/operators"]
    assert all(entry.status == 200 for entry in cache._entries.values())


def test_the_session_is_not_changed_by_a_page_from_the_cache(app: Flask, factory: Factory) -> None:
    factory.operator("op@acme.example", slug="acme")
    client = logged_in(app, "op@acme.example")
    client.get("/dashboard")

    again = client.get("/dashboard")

    assert again.status_code == 200
    assert "Set-Cookie" not in again.headers
    assert again.headers["Content-Security-Policy"]  # the headers every response gets


def running_deployment(app: Flask, client: FlaskClient, status: str = "running") -> int:
    """Deploy (simulated), then show the deployment as `status` again, as a worker would."""
    configure(client, "acme.example")
    response = client.post("/deployments", data={"confirm": "acme.example"})
    assert response.status_code == 302, response.get_data(as_text=True)
    deployment_id = int(response.headers["Location"].rsplit("/", 1)[1])
    wait_for_jobs(app)
    client.get("/dashboard")  # shows (and so ends) the messages the save and the deploy left
    with app.app_context():
        db.session.execute(
            update(Deployment).where(Deployment.id == deployment_id).values(status=status)
        )
        db.session.commit()
    return deployment_id


def poll_of(client: FlaskClient, deployment_id: int) -> str:
    """Return the address the page's next poll asks for (its hx-get and hx-vals)."""
    page = client.get(f"/deployments/{deployment_id}", headers={"HX-Request": "true"})
    found = re.search(r"hx-vals='([^']*)'", page.get_data(as_text=True))
    assert found is not None
    values = json.loads(html.unescape(found.group(1)))
    return f"/deployments/{deployment_id}?{urllib.parse.urlencode(values)}"


def test_a_poll_finds_nothing_new_from_the_cache_until_a_line_arrives(
    app: Flask, factory: Factory, statements: list[str]
) -> None:
    factory.operator("op@acme.example", slug="acme")
    client = logged_in(app, "op@acme.example")
    deployment_id = running_deployment(app, client)
    poll = poll_of(client, deployment_id)
    htmx = {"HX-Request": "true"}
    assert client.get(poll, headers=htmx).status_code == 204
    statements.clear()
    assert client.get(poll, headers=htmx).status_code == 204
    assert statements == []

    with app.app_context():  # the worker writes a line
        db.session.add(LogLine(deployment_id=deployment_id, line="mastodon: a new line"))
        db.session.commit()
    answer = client.get(poll, headers=htmx)

    assert answer.status_code == 200
    assert "mastodon: a new line" in answer.get_data(as_text=True)


def test_a_queued_deployment_is_never_answered_from_the_cache(app: Flask, factory: Factory) -> None:
    factory.operator("op@acme.example", slug="acme")
    client = logged_in(app, "op@acme.example")
    deployment_id = running_deployment(app, client, status="queued")
    poll = poll_of(client, deployment_id)
    client.get(f"/deployments/{deployment_id}")
    client.get(poll, headers={"HX-Request": "true"})

    kept = app.extensions[EXTENSION]._entries
    assert not [key for key in kept if key[0] == f"/deployments/{deployment_id}"]


def count_flask_requests(app: Flask) -> list[str]:
    """Note every request that reaches Flask's own request handling."""
    seen: list[str] = []
    app.before_request_funcs.setdefault(None, []).insert(0, lambda: seen.append("flask"))
    return seen


def test_a_kept_page_is_answered_before_flask_once_it_was_served(
    app: Flask, factory: Factory
) -> None:
    factory.operator("op@acme.example", slug="acme")
    client = logged_in(app, "op@acme.example")
    reached = count_flask_requests(app)
    built = client.get("/deployments")  # built and kept
    served = client.get("/deployments")  # before Flask

    assert reached == ["flask"]
    assert served.status_code == 200
    assert served.get_data() == built.get_data()
    assert served.headers["Content-Security-Policy"] == built.headers["Content-Security-Policy"]
    assert "Set-Cookie" not in served.headers


def test_another_browser_with_the_same_cookie_goes_through_flask(
    app: Flask, factory: Factory
) -> None:
    factory.operator("op@acme.example", slug="acme")
    client = logged_in(app, "op@acme.example")
    client.get("/deployments")
    reached = count_flask_requests(app)

    other = client.get("/deployments", headers={"User-Agent": "another browser"})

    assert reached == ["flask"]  # Flask-Login's session protection sees it
    assert other.status_code == 200


@pytest.mark.parametrize(
    "environ",
    [
        {"REMOTE_ADDR": "127.0.0.1"},
        {"REMOTE_ADDR": "10.0.0.5", "HTTP_USER_AGENT": "Mozilla/5.0 (X11; Linux) Firefox/120"},
        {"REMOTE_ADDR": "10.0.0.5", "HTTP_X_FORWARDED_FOR": "203.0.113.9, 10.0.0.1"},
        {"HTTP_USER_AGENT": "curl/8"},
    ],
)
def test_the_login_mark_is_flask_logins_own(app: Flask, environ: dict[str, str]) -> None:
    from flask_login.utils import _create_identifier

    from fedipanel.web.cached_answers import login_mark

    headers = {k[5:].replace("_", "-"): v for k, v in environ.items() if k.startswith("HTTP_")}
    remote = environ.get("REMOTE_ADDR")
    builder = {"headers": headers} | ({"environ_base": {"REMOTE_ADDR": remote}} if remote else {})
    with app.test_request_context("/", **builder) as context:
        assert login_mark(context.request.environ) == _create_identifier()


def test_a_disabled_account_is_not_answered_before_flask(app: Flask, factory: Factory) -> None:
    factory.operator("op@acme.example", slug="acme")
    client = logged_in(app, "op@acme.example")
    client.get("/deployments")
    assert client.get("/deployments").status_code == 200  # before Flask
    with app.app_context():
        db.session.execute(text("UPDATE users SET disabled_at = CURRENT_TIMESTAMP"))
        db.session.commit()

    assert client.get("/deployments").status_code == 302
