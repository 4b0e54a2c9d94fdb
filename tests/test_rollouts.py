"""Rollouts: a change for many operators, planned, announced and run in their windows."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from fedipanel.accounts.models import User
from fedipanel.core.configuration import Configuration
from fedipanel.db import db
from fedipanel.deployments.models import Deployment, Status
from fedipanel.deployments.pending import deployed_versions
from fedipanel.notifications.models import Notice
from fedipanel.parameters.pins import flake_lock_for, sizes_for
from fedipanel.planning.plans import Prefetched, plan_version
from fedipanel.rollouts.models import Rollout, RolloutStatus
from fedipanel.rollouts.runner import run_due
from fedipanel.settings import effective
from fedipanel.timeutil import utcnow
from tests.helpers import Api, Factory, sample_config, wait_for_jobs

SUNDAY_TWO = {
    "timezone": "Europe/Amsterdam",
    "slots": [{"day": "sun", "start": "02:00", "hours": 2}],
}


class Sent:
    """The notices stored so far (each is also emailed and sent to the webhook)."""

    def __init__(self, app: Flask) -> None:
        self.app = app

    def __iter__(self) -> Iterator[dict[str, Any]]:
        with self.app.app_context():
            rows = db.session.scalars(select(Notice).order_by(Notice.id)).all()
            return iter(
                [
                    {
                        "operator": n.operator_id,
                        "kind": n.kind,
                        "title": n.title,
                        "text": n.text,
                        "payload": n.payload,
                    }
                    for n in rows
                ]
            )


@pytest.fixture
def sent(app: Flask) -> Sent:
    return Sent(app)


@pytest.fixture
def provider_api(client: FlaskClient, factory: Factory) -> Api:
    return Api(client, factory.token(factory.provider()))


def deployed_operator(app: Flask, client: FlaskClient, factory: Factory, name: str) -> Api:
    """Return the API of an operator whose configuration is deployed (on the simulators)."""
    api = Api(client, factory.token(factory.operator(f"op@{name}.example", slug=name)))
    assert api.put("/configuration", sample_config(domain=f"{name}.example")).status_code == 200
    assert api.put("/maintenance-window", SUNDAY_TWO).status_code == 200
    started = api.post("/deployments")
    assert started.status_code == 202, started.json
    wait_for_jobs(app)
    assert api.get(f"/deployments/{started.json['id']}").json["status"] == "succeeded"
    return api


def rollout_body(**overrides: Any) -> dict[str, Any]:
    body = {
        "title": "NixOS 25.11",
        "reason": "Security updates for every service",
        "deadline": (datetime.now(UTC) + timedelta(days=30)).isoformat(),
        "change": {"kind": "redeploy"},
    }
    body.update(overrides)
    return body


def advance(app: Flask, now: datetime) -> int:
    with app.app_context():
        return run_due(effective.build(app.config, {}, {}), now)


def board(provider_api: Api, rollout_id: int) -> dict[str, Any]:
    found = provider_api.get(f"/rollouts/{rollout_id}")
    assert found.status_code == 200
    return found.json  # type: ignore[no-any-return]


def test_every_operator_is_told_with_their_plan_and_time(
    app: Flask,
    client: FlaskClient,
    factory: Factory,
    provider_api: Api,
    sent: Sent,
) -> None:
    acme = deployed_operator(app, client, factory, "acme")
    never = Api(client, factory.token(factory.operator("new@beta.example", slug="beta")))
    created = provider_api.post("/rollouts", rollout_body(noticeHours=72))
    assert created.status_code == 201, created.json
    found = board(provider_api, created.json["id"])
    states = {o["state"] for o in found["operators"]}
    assert states == {"notified", "skipped"}
    notified = next(o for o in found["operators"] if o["state"] == "notified")
    scheduled = datetime.fromisoformat(notified["scheduledFor"])
    assert scheduled >= datetime.now(UTC) + timedelta(hours=72)
    local = scheduled.astimezone(__import__("zoneinfo").ZoneInfo("Europe/Amsterdam"))
    assert (local.strftime("%a"), local.hour) == ("Sun", 2)

    told = [n for n in sent if n["kind"] == "rollout.scheduled"]
    assert len(told) == 1
    assert told[0]["payload"]["reason"] == "Security updates for every service"
    assert "Sunday" in told[0]["text"]
    assert told[0]["payload"]["deadline"]
    assert told[0]["payload"]["scheduledFor"] == notified["scheduledFor"]

    mine = acme.get("/rollouts").json["rollouts"]
    assert [r["state"] for r in mine] == ["notified"]
    first_choice = datetime.fromisoformat(mine[0]["choices"][0])
    assert first_choice == datetime.fromisoformat(mine[0]["scheduledFor"])
    assert never.get("/rollouts").json["rollouts"] == []
    assert never.get(f"/rollouts/{created.json['id']}").status_code == 404


def test_operator_picks_another_window_or_runs_now(
    app: Flask, client: FlaskClient, factory: Factory, provider_api: Api
) -> None:
    acme = deployed_operator(app, client, factory, "acme")
    rollout_id = provider_api.post("/rollouts", rollout_body()).json["id"]
    view = acme.get(f"/rollouts/{rollout_id}").json
    assert len(view["choices"]) >= 3
    later = view["choices"][2]
    picked = acme.post(f"/rollouts/{rollout_id}/schedule", {"at": later})
    assert picked.status_code == 200, picked.json
    assert datetime.fromisoformat(picked.json["scheduledFor"]) == datetime.fromisoformat(later)
    assert picked.json["state"] == "scheduled"

    outside = (datetime.fromisoformat(later) + timedelta(hours=5)).isoformat()
    refused = acme.post(f"/rollouts/{rollout_id}/schedule", {"at": outside})
    assert refused.status_code == 422
    assert refused.json["errors"][0]["loc"] == ["at"]
    assert acme.post(f"/rollouts/{rollout_id}/schedule", {"at": "soon"}).status_code == 422
    assert acme.post(f"/rollouts/{rollout_id}/schedule", {"when": 1}).status_code == 422

    now = acme.post(f"/rollouts/{rollout_id}/schedule", {"now": True})
    assert now.status_code == 200
    wait_for_jobs(app)  # "now" wakes the runner, which starts the update
    advance(app, utcnow())
    result = board(provider_api, rollout_id)
    assert result["operators"][0]["state"] == "succeeded"
    assert result["status"] == "finished"
    assert acme.post(f"/rollouts/{rollout_id}/schedule", {"now": True}).status_code == 409


def test_nothing_runs_before_its_time_then_it_runs_as_an_ordinary_deployment(
    app: Flask,
    client: FlaskClient,
    factory: Factory,
    provider_api: Api,
    sent: Sent,
) -> None:
    deployed_operator(app, client, factory, "acme")
    rollout_id = provider_api.post("/rollouts", rollout_body()).json["id"]
    when = datetime.fromisoformat(board(provider_api, rollout_id)["operators"][0]["scheduledFor"])
    assert advance(app, when - timedelta(minutes=1)) == 0
    assert advance(app, when + timedelta(minutes=1)) == 1
    assert advance(app, when + timedelta(minutes=2)) == 0  # started once
    wait_for_jobs(app)
    advance(app, when + timedelta(minutes=3))
    target = board(provider_api, rollout_id)["operators"][0]
    assert target["state"] == "succeeded"
    with app.app_context():
        deployment = db.session.get(Deployment, target["deployment"])
        assert deployment is not None
        assert deployment.status == Status.SUCCEEDED
    assert [n["kind"] for n in sent] == ["rollout.scheduled", "rollout.result"]


def test_the_canary_goes_first_and_failures_pause_the_rollout(
    app: Flask,
    client: FlaskClient,
    factory: Factory,
    provider_api: Api,
    sent: Sent,
) -> None:
    for name in ("acme", "beta", "gamma"):
        deployed_operator(app, client, factory, name)
    rollout_id = provider_api.post("/rollouts", rollout_body(batchSize=1)).json["id"]
    when = datetime.fromisoformat(board(provider_api, rollout_id)["operators"][0]["scheduledFor"])
    app.config["SIMULATE"] = False  # the canary's deployment fails: simulators are now forbidden
    assert advance(app, when) == 1  # only the canary
    wait_for_jobs(app)  # its end wakes the runner, which sees the failure and pauses
    app.config["SIMULATE"] = True
    found = board(provider_api, rollout_id)
    assert found["status"] == "paused"
    assert "1 operators failed" in found["statusReason"]
    assert sorted(o["state"] for o in found["operators"]) == ["failed", "notified", "notified"]
    assert any(n["kind"] == "rollout.attention" for n in sent)
    failed = next(o for o in found["operators"] if o["state"] == "failed")
    assert "Simulators are disabled" in failed["detail"]

    retried = provider_api.post(f"/rollouts/{rollout_id}/retry")
    assert retried.status_code == 200
    wait_for_jobs(app)  # retrying wakes the runner: the canary runs again, alone, and succeeds
    again = board(provider_api, rollout_id)
    assert sorted(o["state"] for o in again["operators"]) == ["notified", "notified", "succeeded"]
    assert advance(app, when + timedelta(minutes=3)) == 1  # canary succeeded: batch two
    wait_for_jobs(app)
    assert advance(app, when + timedelta(minutes=4)) == 1
    wait_for_jobs(app)
    advance(app, when + timedelta(minutes=5))
    final = board(provider_api, rollout_id)
    assert final["status"] == "finished"
    assert final["counts"]["succeeded"] == 3
    assert final["progress"] == 100


def test_a_missed_window_moves_to_the_next_and_past_the_deadline_the_provider_decides(
    app: Flask,
    client: FlaskClient,
    factory: Factory,
    provider_api: Api,
    sent: Sent,
) -> None:
    acme = deployed_operator(app, client, factory, "acme")
    deadline = datetime.now(UTC) + timedelta(days=17)
    rollout_id = provider_api.post(
        "/rollouts", rollout_body(deadline=deadline.isoformat(), noticeHours=0)
    ).json["id"]
    first = datetime.fromisoformat(board(provider_api, rollout_id)["operators"][0]["scheduledFor"])
    with app.app_context():
        # The operator is deploying all through their window.
        operator_id = board(provider_api, rollout_id)["operators"][0]["id"]
        db.session.add(Deployment(operator_id=operator_id, status=Status.RUNNING))
        db.session.commit()
    assert advance(app, first + timedelta(minutes=30)) == 0
    assert advance(app, first + timedelta(hours=2, minutes=1)) == 0
    moved = datetime.fromisoformat(board(provider_api, rollout_id)["operators"][0]["scheduledFor"])
    assert moved == first + timedelta(days=7)
    assert advance(app, moved + timedelta(hours=3)) == 0
    assert board(provider_api, rollout_id)["operators"][0]["state"] in ("notified", "overdue")
    advance(app, deadline + timedelta(hours=1))
    overdue = board(provider_api, rollout_id)["operators"][0]
    assert overdue["state"] == "overdue"
    assert any(n["kind"] == "rollout.attention" for n in sent)
    with app.app_context():
        db.session.execute(
            Deployment.__table__.update()
            .where(Deployment.operator_id == operator_id, Deployment.status == "running")
            .values(status="failed")
        )
        db.session.commit()
    decided = provider_api.post(f"/rollouts/{rollout_id}/operators/{operator_id}/run-now")
    assert decided.status_code == 200
    wait_for_jobs(app)  # deciding wakes the runner
    advance(app, utcnow())
    assert board(provider_api, rollout_id)["operators"][0]["state"] == "succeeded"
    assert acme.get(f"/rollouts/{rollout_id}").json["state"] == "succeeded"


def test_sizes_reach_operators_only_through_a_rollout(
    app: Flask, client: FlaskClient, factory: Factory, provider_api: Api
) -> None:
    acme = deployed_operator(app, client, factory, "acme")
    with app.app_context():
        operator_id = acme_id = db.session.scalar(select(Deployment.operator_id))
        pinned = sizes_for(operator_id, {})
    assert pinned["mastodon"].cores >= 1
    # The provider's settings change: the operator's plan does not move.
    app.config["SIZES"] = '{"mastodon": {"cores": 7, "memory_mib": 8192, "disk_gib": 80}}'
    changes = acme.post("/plan").json["changes"]
    assert all(c["action"] == "keep" for c in changes if c["kind"] == "machine")

    body = rollout_body(
        change={
            "kind": "sizes",
            "sizes": {"mastodon": {"cores": 6, "memoryMib": 8192, "diskGib": 80}},
        },
        noticeHours=0,
    )
    rollout_id = provider_api.post("/rollouts", body).json["id"]
    view = acme.get(f"/rollouts/{rollout_id}").json
    assert any(c["kind"] == "machine" and c["action"] == "update" for c in view["changes"])
    acme.post(f"/rollouts/{rollout_id}/schedule", {"now": True})
    wait_for_jobs(app)
    advance(app, utcnow())
    assert board(provider_api, rollout_id)["operators"][0]["state"] == "succeeded"
    with app.app_context():
        assert sizes_for(acme_id, {})["mastodon"].cores == 6


def test_quota_blocks_an_operator_instead_of_failing_them(
    app: Flask, client: FlaskClient, factory: Factory, provider_api: Api, runner: Any
) -> None:
    deployed_operator(app, client, factory, "acme")
    runner.invoke(args=["fedipanel", "set-quota", "--email", "op@acme.example", "--cores", "8"])
    body = rollout_body(
        change={
            "kind": "sizes",
            "sizes": {"mastodon": {"cores": 64, "memoryMib": 8192, "diskGib": 80}},
        }
    )
    rollout_id = provider_api.post("/rollouts", body).json["id"]
    target = board(provider_api, rollout_id)["operators"][0]
    assert target["state"] == "blocked"
    assert "quota" in target["detail"].lower() or "cores" in target["detail"].lower()


def test_a_pin_gives_the_operator_its_own_flake_lock(
    app: Flask, client: FlaskClient, factory: Factory, provider_api: Api
) -> None:
    acme = deployed_operator(app, client, factory, "acme")
    lock = {"nodes": {"root": {"inputs": {}}}, "root": "root", "version": 7}
    rollout_id = provider_api.post(
        "/rollouts", rollout_body(change={"kind": "pin", "flakeLock": lock})
    ).json["id"]
    acme.post(f"/rollouts/{rollout_id}/schedule", {"now": True})
    wait_for_jobs(app)
    advance(app, utcnow())
    target = board(provider_api, rollout_id)["operators"][0]
    assert target["state"] == "succeeded"
    with app.app_context():
        assert flake_lock_for(db.session.scalar(select(Deployment.operator_id))) == lock
    log = acme.get(f"/deployments/{target['deployment']}").json["log"]
    assert any("pinned flake.lock" in line for line in log)


@pytest.mark.parametrize(
    ("overrides", "loc"),
    [
        ({"deadline": "2020-01-01T00:00:00+00:00"}, ["deadline"]),
        ({"deadline": "2030-01-01T00:00:00"}, ["deadline"]),
        ({"change": {"kind": "teleport"}}, ["change"]),
        (
            {
                "change": {
                    "kind": "sizes",
                    "sizes": {"gopher": {"cores": 1, "memoryMib": 512, "diskGib": 1}},
                }
            },
            ["change", "sizes", "sizes"],
        ),
        ({"change": {"kind": "pin", "flakeLock": {"nodes": 1}}}, ["change", "pin", "flakeLock"]),
        ({"operators": [999]}, ["operators", 0]),
        ({"operators": []}, ["operators"]),
        ({"batchSize": 0}, ["batchSize"]),
        ({"title": " "}, ["title"]),
        ({"surprise": 1}, ["surprise"]),
    ],
)
def test_bad_rollouts_are_refused_at_the_field(
    provider_api: Api, overrides: dict[str, Any], loc: list[Any]
) -> None:
    refused = provider_api.post("/rollouts", rollout_body(**overrides))
    assert refused.status_code == 422, refused.json
    assert refused.json["errors"][0]["loc"][: len(loc)] == loc


def test_operators_cannot_create_or_steer_rollouts(
    app: Flask, client: FlaskClient, factory: Factory, provider_api: Api
) -> None:
    acme = deployed_operator(app, client, factory, "acme")
    assert acme.post("/rollouts", rollout_body()).status_code == 403
    rollout_id = provider_api.post("/rollouts", rollout_body()).json["id"]
    assert acme.post(f"/rollouts/{rollout_id}/pause").status_code == 403
    assert provider_api.post(f"/rollouts/{rollout_id}/schedule", {"now": True}).status_code == 403
    assert provider_api.post(f"/rollouts/{rollout_id}/pause").json["status"] == "paused"
    assert provider_api.post(f"/rollouts/{rollout_id}/pause").status_code == 409
    cancelled = provider_api.post(f"/rollouts/{rollout_id}/cancel")
    assert cancelled.json["status"] == "cancelled"
    assert cancelled.json["operators"][0]["state"] == "cancelled"
    assert provider_api.get("/rollouts/999").status_code == 404
    with app.app_context():
        assert db.session.get(Rollout, rollout_id).status == RolloutStatus.CANCELLED  # type: ignore[union-attr]


# --- the pages ----------------------------------------------------------------------------------


def test_provider_creates_a_rollout_on_the_page_and_watches_the_board(
    app: Flask, client: FlaskClient, factory: Factory, auth: Any
) -> None:
    deployed_operator(app, client, factory, "acme")
    factory.provider()
    auth.login("admin@provider.example")
    assert client.get("/rollouts").status_code == 200
    assert b"New rollout" in client.get("/rollouts/new").data
    bad = client.post(
        "/rollouts/new",
        data={
            "title": "",
            "reason": "x",
            "deadline": "",
            "kind": "sizes",
            "size-mastodon-cores": "0",
        },
    )
    assert bad.status_code == 400
    text = bad.get_data(as_text=True)
    assert text.count('class="field-error"') >= 3
    assert "pick a date and time" in text
    assert 'value="0"' in text  # what was typed is kept

    deadline = (datetime.now(UTC) + timedelta(days=20)).strftime("%Y-%m-%dT%H:%M")
    created = client.post(
        "/rollouts/new",
        data={
            "title": "Security fix",
            "reason": "OpenSSL",
            "deadline": deadline,
            "operators": "all",
            "batchSize": "1",
            "failureThreshold": "1",
            "noticeHours": "0",
            "kind": "redeploy",
        },
    )
    assert created.status_code == 302
    board_page = client.get(created.headers["Location"])
    assert b"Security fix" in board_page.data
    assert b'hx-trigger="every 2s"' in board_page.data
    fragment = client.get(created.headers["Location"], headers={"HX-Request": "true"})
    assert fragment.status_code == 200
    assert b"<html" not in fragment.data
    rollout_id = int(created.headers["Location"].rsplit("/", 1)[1])
    client.post(f"/rollouts/{rollout_id}/cancel")
    done = client.get(f"/rollouts/{rollout_id}", headers={"HX-Request": "true"})
    assert done.status_code == 286  # htmx stops polling


def test_operator_sees_the_update_on_the_dashboard_and_picks_a_window(
    app: Flask, client: FlaskClient, factory: Factory, provider_api: Api, auth: Any
) -> None:
    acme = deployed_operator(app, client, factory, "acme")
    rollout_id = provider_api.post("/rollouts", rollout_body()).json["id"]
    auth.login("op@acme.example")
    page = client.get("/dashboard").get_data(as_text=True)
    assert "Planned updates from your provider" in page
    assert "Security updates for every service" in page
    assert "(Europe/Amsterdam)" in page
    third = acme.get(f"/rollouts/{rollout_id}").json["choices"][2]
    picked = client.post(
        f"/updates/{rollout_id}/schedule", data={"at": third}, follow_redirects=True
    )
    assert "moves to the window you picked" in picked.get_data(as_text=True)
    assert acme.get(f"/rollouts/{rollout_id}").json["state"] == "scheduled"
    other = Api(client, factory.token(factory.operator("other@beta.example", slug="beta")))
    auth.logout()
    auth.login("other@beta.example")
    assert client.post(f"/updates/{rollout_id}/schedule", data={"now": "1"}).status_code == 404
    assert other.get(f"/rollouts/{rollout_id}").status_code == 404


def test_command_line_creates_and_shows_a_rollout(
    app: Flask, client: FlaskClient, factory: Factory, runner: Any
) -> None:
    deployed_operator(app, client, factory, "acme")
    deadline = (datetime.now(UTC) + timedelta(days=20)).isoformat()
    made = runner.invoke(
        args=[
            "fedipanel",
            "rollout",
            "create",
            "--title",
            "Fix",
            "--reason",
            "CVE",
            "--deadline",
            deadline,
            "--notice-hours",
            "1",
        ]
    )
    assert made.exit_code == 0, made.output
    rollout_id = int(made.output.strip().splitlines()[-1])
    shown = runner.invoke(args=["fedipanel", "rollout", "show", str(rollout_id)])
    assert '"state": "notified"' in shown.output
    bad = runner.invoke(
        args=[
            "fedipanel",
            "rollout",
            "create",
            "--title",
            "Fix",
            "--reason",
            "CVE",
            "--deadline",
            "2020-01-01T00:00Z",
        ]
    )
    assert bad.exit_code != 0
    assert "deadline" in bad.output
    assert "Traceback" not in bad.output
    missing = runner.invoke(args=["fedipanel", "rollout", "show", "999"])
    assert missing.exit_code != 0
    assert "no rollout 999" in missing.output


def test_planning_many_at_once_gives_the_plans_of_one_at_a_time(
    app: Flask, client: FlaskClient, factory: Factory
) -> None:
    for name in ("acme", "beta"):
        deployed_operator(app, client, factory, name)
    with app.app_context():
        settings = effective.build(app.config, {}, {})
        users = db.session.scalars(select(User).where(User.role == "operator")).all()
        ids = [u.id for u in users]
        versions = deployed_versions(ids)
        prefetched = Prefetched.load(ids, settings)
        for user in users:
            config = Configuration.model_validate(versions[user.id].data)
            one = plan_version(user, config, versions[user.id].version, settings)
            many = plan_version(
                user, config, versions[user.id].version, settings, prefetched=prefetched
            )
            assert many.plan.as_json() == one.plan.as_json()
            assert many.state.resources() == one.state.resources()
