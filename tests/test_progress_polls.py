"""The live progress card: each poll carries the page's last line and gets only what is new."""

from __future__ import annotations

import json
import re

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import update

from fedipanel.accounts.models import User
from fedipanel.db import db
from fedipanel.deployments.models import Deployment, Status
from fedipanel.deployments.progress import Progress
from fedipanel.timeutil import utcnow
from tests.helpers import Api, Auth, Factory

POLL = {"HX-Request": "true"}


def _running(app: Flask, operator_id: int, lines: int) -> int:
    """Record a running deployment with `lines` log lines; return its id."""
    with app.app_context():
        row = Deployment(operator_id=operator_id, status=Status.RUNNING, phase="Building")
        db.session.add(row)
        db.session.commit()
        Progress(row.id).log(f"line {n}" for n in range(lines))
        return int(row.id)


def _log(app: Flask, deployment_id: int, *lines: str) -> None:
    with app.app_context():
        Progress(deployment_id).log(lines)


def _set(app: Flask, deployment_id: int, **values: object) -> None:
    with app.app_context():
        db.session.execute(update(Deployment).where(Deployment.id == deployment_id).values(values))
        db.session.commit()


def _poll_values(html: str) -> dict[str, str]:
    """Return what the page's status line sends with its next poll (its hx-vals)."""
    found = re.search(r"hx-vals='([^']*)'", html)
    assert found is not None, "the status line does not poll"
    values = json.loads(found.group(1))
    assert isinstance(values, dict)
    return values


@pytest.fixture
def operator(factory: Factory, auth: Auth) -> int:
    operator_id = factory.operator("op@acme.example", slug="acme")
    auth.login("op@acme.example")
    return operator_id


def test_poll_sends_only_lines_after_the_last_one_shown(
    app: Flask, client: FlaskClient, operator: int
) -> None:
    deployment_id = _running(app, operator, 150)
    page = client.get(f"/deployments/{deployment_id}").get_data(as_text=True)
    assert 'role="log"' in page
    assert 'aria-live="off"' in page
    assert "line 149" in page
    values = _poll_values(page)

    _log(app, deployment_id, "line 150", "line 151")
    poll = client.get(f"/deployments/{deployment_id}", query_string=values, headers=POLL)
    assert poll.status_code == 200
    body = poll.get_data(as_text=True)
    assert "line 150" in body
    assert "line 151" in body
    assert "line 149" not in body
    assert 'id="progress"' not in body  # appended to the log, not a new card
    # The status line comes along out of band, carrying the new last line.
    assert 'hx-swap-oob="true"' in body
    following = _poll_values(body)
    assert int(following["after"]) > int(values["after"])
    assert "announce" not in body  # the phase did not change: nothing is read aloud


def test_poll_answers_204_when_nothing_changed(
    app: Flask, client: FlaskClient, operator: int
) -> None:
    deployment_id = _running(app, operator, 200)
    values = _poll_values(client.get(f"/deployments/{deployment_id}").get_data(as_text=True))
    poll = client.get(f"/deployments/{deployment_id}", query_string=values, headers=POLL)
    assert poll.status_code == 204
    assert poll.data == b""


def test_new_phase_updates_the_status_line_and_the_live_region(
    app: Flask, client: FlaskClient, operator: int
) -> None:
    deployment_id = _running(app, operator, 3)
    values = _poll_values(client.get(f"/deployments/{deployment_id}").get_data(as_text=True))
    _set(app, deployment_id, phase="Running nixops4", progress=70)
    body = client.get(f"/deployments/{deployment_id}", query_string=values, headers=POLL).get_data(
        as_text=True
    )
    assert "Running nixops4" in body
    assert "70%" in body
    assert 'id="announce" hx-swap-oob="innerHTML"' in body
    assert "line 2" not in body  # no new lines, only the new state

    # Progress alone moves the bar without announcing the phase again.
    values = _poll_values(body)
    _set(app, deployment_id, progress=80)
    body = client.get(f"/deployments/{deployment_id}", query_string=values, headers=POLL).get_data(
        as_text=True
    )
    assert "80%" in body
    assert "announce" not in body


def test_finished_deployment_replaces_the_card_and_stops_polling(
    app: Flask, client: FlaskClient, operator: int
) -> None:
    deployment_id = _running(app, operator, 5)
    values = _poll_values(client.get(f"/deployments/{deployment_id}").get_data(as_text=True))
    _set(app, deployment_id, status=Status.SUCCEEDED, phase="Deployed", progress=100)
    done = client.get(f"/deployments/{deployment_id}", query_string=values, headers=POLL)
    assert done.status_code == 286
    assert done.headers["HX-Retarget"] == "#progress"
    assert done.headers["HX-Reswap"] == "outerHTML"
    body = done.get_data(as_text=True)
    assert 'id="progress"' in body
    assert 'id="outcome"' in body
    assert "hx-trigger" not in body
    assert "hx-vals" not in body


@pytest.mark.parametrize("after", ["", "-1", "abc", "9" * 40, "1.5"])
def test_bad_after_gets_the_whole_card(
    app: Flask, client: FlaskClient, operator: int, after: str
) -> None:
    deployment_id = _running(app, operator, 2)
    poll = client.get(f"/deployments/{deployment_id}", query_string={"after": after}, headers=POLL)
    assert poll.status_code == 200
    assert 'id="progress"' in poll.get_data(as_text=True)


def test_another_operators_deployment_is_404_to_a_poll(
    app: Flask, client: FlaskClient, factory: Factory, operator: int
) -> None:
    other = factory.operator("other@beta.example", slug="beta")
    deployment_id = _running(app, other, 3)
    poll = client.get(
        f"/deployments/{deployment_id}", query_string={"after": "0", "state": "x"}, headers=POLL
    )
    assert poll.status_code == 404
    assert "line 0" not in poll.get_data(as_text=True)


def test_another_operators_unchanged_deployment_is_404_to_a_poll(
    app: Flask, client: FlaskClient, factory: Factory, auth: Auth
) -> None:
    """A poll carrying exactly what the owner's page sends is still not found by anyone else."""
    owner = factory.operator("owner@acme.example", slug="acme")
    factory.operator("other@beta.example", slug="beta")
    deployment_id = _running(app, owner, 3)
    auth.login("owner@acme.example")
    values = _poll_values(client.get(f"/deployments/{deployment_id}").get_data(as_text=True))
    assert (
        client.get(f"/deployments/{deployment_id}", query_string=values, headers=POLL).status_code
        == 204
    )
    auth.logout()
    auth.login("other@beta.example")
    poll = client.get(f"/deployments/{deployment_id}", query_string=values, headers=POLL)
    assert poll.status_code == 404


def test_provider_poll_of_an_unchanged_deployment_is_204(
    app: Flask, client: FlaskClient, factory: Factory, auth: Auth
) -> None:
    operator_id = factory.operator("op@acme.example", slug="acme")
    factory.provider("admin@provider.example")
    deployment_id = _running(app, operator_id, 3)
    auth.login("admin@provider.example")
    values = _poll_values(client.get(f"/deployments/{deployment_id}").get_data(as_text=True))
    poll = client.get(f"/deployments/{deployment_id}", query_string=values, headers=POLL)
    assert poll.status_code == 204


def test_poll_after_the_account_is_disabled_ends_the_session(
    app: Flask, client: FlaskClient, operator: int
) -> None:
    deployment_id = _running(app, operator, 3)
    values = _poll_values(client.get(f"/deployments/{deployment_id}").get_data(as_text=True))
    with app.app_context():
        db.session.execute(update(User).where(User.id == operator).values(disabled_at=utcnow()))
        db.session.commit()
    poll = client.get(f"/deployments/{deployment_id}", query_string=values, headers=POLL)
    assert poll.status_code in (302, 401)


def test_api_after_returns_only_the_later_lines(
    app: Flask, client: FlaskClient, factory: Factory
) -> None:
    operator_id = factory.operator("op@acme.example", slug="acme")
    api = Api(client, factory.token(operator_id))
    deployment_id = _running(app, operator_id, 5)
    whole = api.get(f"/deployments/{deployment_id}").get_json()
    assert whole["log"] == [f"line {n}" for n in range(5)]
    later = api.get(f"/deployments/{deployment_id}?after=3").get_json()
    assert later["log"] == ["line 3", "line 4"]
    assert {k: v for k, v in later.items() if k != "log"} == {
        k: v for k, v in whole.items() if k != "log"
    }
    assert api.get(f"/deployments/{deployment_id}?after=99").get_json()["log"] == []
    for bad in ("-1", "x", "", "1.5"):
        refused = api.get(f"/deployments/{deployment_id}?after={bad}")
        assert refused.status_code == 422
        assert refused.get_json()["errors"][0]["loc"] == ["after"]


def test_poll_appends_nothing_but_log_lines(app: Flask, client: FlaskClient, operator: int) -> None:
    deployment_id = _running(app, operator, 3)
    values = _poll_values(client.get(f"/deployments/{deployment_id}").get_data(as_text=True))
    _set(app, deployment_id, phase="Running nixops4")
    body = client.get(f"/deployments/{deployment_id}", query_string=values, headers=POLL).get_data(
        as_text=True
    )
    # htmx takes the out-of-band parts out and appends the rest to the log: nothing must be left.
    assert body.startswith('<div id="progress-state" hx-swap-oob="true"')
    assert body.endswith("Running nixops4</span>")
    assert body.count("</div>") + body.count("</span>") == body.count("<div") + body.count("<span")
