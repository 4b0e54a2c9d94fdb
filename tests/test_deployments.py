"""Deployments: one active per operator, progress page, the real nixops4 path, dead workers."""

from __future__ import annotations

import threading
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from fedipanel.db import db
from fedipanel.deployments.lifecycle import full_log
from fedipanel.deployments.models import ACTIVE, Deployment, Status
from fedipanel.deployments.progress import Progress
from fedipanel.deployments.reaper import reap_stale_deployments
from fedipanel.timeutil import utcnow
from tests.helpers import PASSWORD, Api, Factory, sample_config, wait_for_jobs


def _deployment(app: Flask, deployment_id: int) -> Deployment:
    with app.app_context():
        row = db.session.get(Deployment, deployment_id)
        assert row is not None
        db.session.expunge(row)
        return row


class _Gate:
    """Holds the embedded worker at its first job until the test opens it."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        import jobs.deploy

        self.opened = threading.Event()
        original = jobs.deploy.run_deployment

        def gated(deployment_id: int) -> None:
            self.opened.wait(10)
            original(deployment_id)

        monkeypatch.setattr(jobs.deploy, "run_deployment", gated)


@pytest.mark.both_databases
def test_second_deployment_while_one_is_active_answers_409(
    app: Flask, operator_api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    gate = _Gate(monkeypatch)
    operator_api.put("/configuration", sample_config())
    first = operator_api.post("/deployments")
    assert first.status_code == 202
    second = operator_api.post("/deployments")
    assert second.status_code == 409
    assert "still in progress" in second.get_json()["errors"][0]["msg"]
    gate.opened.set()
    wait_for_jobs(app)
    assert operator_api.post("/deployments").status_code == 202
    wait_for_jobs(app)


@pytest.mark.both_databases
def test_database_itself_refuses_two_active_deployments(app: Flask, factory: Factory) -> None:
    operator_id = factory.operator()
    with app.app_context():
        db.session.add(Deployment(operator_id=operator_id, status=Status.QUEUED))
        db.session.commit()
        db.session.add(Deployment(operator_id=operator_id, status=Status.RUNNING))
        with pytest.raises(IntegrityError):
            db.session.commit()
        db.session.rollback()
        db.session.add(Deployment(operator_id=operator_id, status=Status.FAILED))
        db.session.commit()


@pytest.mark.both_databases
def test_simultaneous_deploy_requests_start_exactly_one_deployment(
    app: Flask, factory: Factory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Requests racing in their own threads, app contexts and sessions: the database picks one."""
    gate = _Gate(monkeypatch)
    token = factory.token(factory.operator("op@acme.example", slug="acme"))
    Api(app.test_client(), token).put("/configuration", sample_config())
    racers = 6
    start = threading.Barrier(racers)
    answers: list[int | str] = []

    def deploy() -> None:
        api = Api(app.test_client(), token)  # each request pushes its own app context
        start.wait(30)
        try:
            answers.append(api.post("/deployments").status_code)
        except Exception as exc:  # a 500 propagates in testing: show it in the assertion
            answers.append(repr(exc))

    threads = [threading.Thread(target=deploy) for _ in range(racers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(answers, key=str) == [202] + [409] * (racers - 1), answers
    with app.app_context():
        active = db.session.scalars(
            select(Deployment).where(Deployment.status.in_([s.value for s in ACTIVE]))
        ).all()
        assert len(active) == 1
    gate.opened.set()
    wait_for_jobs(app)


def test_deploy_without_configuration_is_refused(operator_api: Api) -> None:
    response = operator_api.post("/deployments")
    assert response.status_code == 422
    assert response.get_json()["errors"][0]["loc"] == ["configuration"]


def test_deploy_button_conflict_shows_a_message(
    app: Flask, client: FlaskClient, factory: Factory, monkeypatch: pytest.MonkeyPatch
) -> None:
    gate = _Gate(monkeypatch)
    api = Api(client, factory.token(factory.operator("op@acme.example", slug="acme")))
    api.put("/configuration", sample_config())
    client.post("/login", data={"email": "op@acme.example", "password": PASSWORD})
    assert client.post("/deployments").status_code == 302
    response = client.post("/deployments", follow_redirects=True)
    assert "still in progress" in response.get_data(as_text=True)
    gate.opened.set()
    wait_for_jobs(app)


def test_progress_fragment_polls_while_active_and_stops_with_286(
    app: Flask, client: FlaskClient, factory: Factory, monkeypatch: pytest.MonkeyPatch
) -> None:
    gate = _Gate(monkeypatch)
    api = Api(client, factory.token(factory.operator("op@acme.example", slug="acme")))
    api.put("/configuration", sample_config())
    deployment_id = api.post("/deployments").get_json()["id"]
    client.post("/login", data={"email": "op@acme.example", "password": PASSWORD})

    page = client.get(f"/deployments/{deployment_id}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "<html" in html
    assert 'hx-trigger="every 1s"' in html

    fragment = client.get(f"/deployments/{deployment_id}", headers={"HX-Request": "true"})
    assert fragment.status_code == 200
    assert "<html" not in fragment.get_data(as_text=True)
    assert 'id="progress"' in fragment.get_data(as_text=True)

    gate.opened.set()
    wait_for_jobs(app)
    done = client.get(f"/deployments/{deployment_id}", headers={"HX-Request": "true"})
    assert done.status_code == 286
    body = done.get_data(as_text=True)
    assert "every 1s" not in body
    assert "succeeded" in body
    assert "simulated" in body
    log = client.get(f"/deployments/{deployment_id}/log.txt")
    assert log.mimetype == "text/plain"
    assert "[simulated]" in log.get_data(as_text=True)


@pytest.mark.parametrize("app_overrides", [{"NIXOPS4": "/nonexistent/nixops4"}])
def test_misconfigured_nixops4_is_a_clear_refusal(app: Flask, operator_api: Api) -> None:
    operator_api.put("/configuration", sample_config())
    response = operator_api.post("/deployments")
    assert response.status_code == 422
    assert "/nonexistent/nixops4" in response.get_json()["errors"][0]["msg"]


@pytest.mark.parametrize("app_overrides", [{"SIMULATE": False}])
def test_simulators_forbidden_fails_before_anything_starts(app: Flask, operator_api: Api) -> None:
    operator_api.put("/configuration", sample_config())
    deployment_id = operator_api.post("/deployments").get_json()["id"]
    wait_for_jobs(app)
    deployment = operator_api.get(f"/deployments/{deployment_id}").get_json()
    assert deployment["status"] == "failed"
    assert "FEDIPANEL_SIMULATE=0" in deployment["error"]
    assert "virtual machines" in deployment["error"]
    assert not any("[simulated]" in line for line in deployment["log"])
    with app.app_context():
        from fedipanel.accounts.users import find_user
        from fedipanel.planning.plans import recorded_resources

        operator = find_user("op@acme.example")
        assert operator is not None
        assert recorded_resources(operator.id) == []


@pytest.mark.both_databases
def test_deployment_of_a_dead_worker_is_marked_interrupted(app: Flask, factory: Factory) -> None:
    operator_id = factory.operator()
    with app.app_context():
        stale = utcnow() - timedelta(seconds=app.config["STALE_AFTER"] + 5)
        row = Deployment(
            operator_id=operator_id, status=Status.RUNNING, started_at=stale, heartbeat_at=stale
        )
        fresh = Deployment(
            operator_id=factory.operator("b@b.example"),
            status=Status.RUNNING,
            started_at=utcnow(),
            heartbeat_at=utcnow(),
        )
        db.session.add_all([row, fresh])
        db.session.commit()
        assert reap_stale_deployments() == 1
        db.session.refresh(row)
        db.session.refresh(fresh)
        assert row.status == Status.FAILED
        assert row.error is not None
        assert row.error.startswith("interrupted")
        assert fresh.status == Status.RUNNING


def test_unreachable_queue_fails_the_row_and_frees_the_lock(
    tmp_path: Path, factory: Factory, app: Flask
) -> None:
    from fedipanel.jobqueue import RedisQueue

    app.extensions["fedipanel.queue"] = RedisQueue("redis://127.0.0.1:1/0", 60)
    api = Api(app.test_client(), factory.token(factory.operator(slug="acme")))
    api.put("/configuration", sample_config())
    response = api.post("/deployments")
    assert response.status_code == 503
    assert "queue is unavailable" in response.get_json()["errors"][0]["msg"]
    listed: list[dict[str, Any]] = api.get("/deployments").get_json()["deployments"]
    assert listed[0]["status"] == "failed"


def test_second_deployment_keeps_everything_and_bumps_the_generation(
    app: Flask, operator_api: Api
) -> None:
    operator_api.put("/configuration", sample_config())
    operator_api.post("/deployments")
    wait_for_jobs(app)
    config = sample_config()
    config["services"]["peertube"] = {"enable": False, "keepData": False}
    operator_api.put("/configuration", config)
    plan = operator_api.post("/plan").get_json()
    deleted = {(c["kind"], c["name"]) for c in plan["changes"] if c["action"] == "delete"}
    assert ("machine", "peertube") in deleted
    second = operator_api.post("/deployments", {"confirm": "acme.example"}).get_json()["id"]
    wait_for_jobs(app)
    deployment = operator_api.get(f"/deployments/{second}").get_json()
    assert deployment["status"] == "succeeded"
    assert deployment["generation"] == 2
    after = operator_api.post("/plan").get_json()
    assert {c["action"] for c in after["changes"]} == {"keep"}
    assert ("machine", "peertube") not in {(c["kind"], c["name"]) for c in after["changes"]}


@pytest.mark.both_databases
def test_longest_host_name_the_configuration_allows_is_deployed_and_recorded(
    app: Flask, operator_api: Api
) -> None:
    """A 63-character subdomain of a 200-character domain: its DNS record name is 264 long."""
    label = "b" * 63
    domain = f"{'a' * 62}.{label}.{label}.c.example"
    assert len(domain) == 200
    config = sample_config(domain=domain)
    config["services"]["mastodon"] = {"enable": True, "subdomain": "m" * 63}
    assert operator_api.put("/configuration", config).status_code == 200
    deployment_id = operator_api.post("/deployments").get_json()["id"]
    wait_for_jobs(app)
    deployment = operator_api.get(f"/deployments/{deployment_id}").get_json()
    assert deployment["status"] == "succeeded", deployment["error"]
    after = operator_api.post("/plan").get_json()["changes"]
    assert {"keep"} == {c["action"] for c in after}
    assert f"{'m' * 63}.{domain}" in {c["name"] for c in after if c["kind"] == "dns_record"}


@pytest.mark.parametrize("app_overrides", [{"SIZES": {"mastodon": {"cores": "many"}}}])
def test_bad_machine_sizes_setting_is_a_clear_error_not_a_500(operator_api: Api) -> None:
    operator_api.put("/configuration", sample_config())
    plan = operator_api.post("/plan")
    assert plan.status_code == 422
    assert "FEDIPANEL_SIZES" in plan.get_json()["errors"][0]["msg"]
    deploy = operator_api.post("/deployments")
    assert deploy.status_code == 422
    assert deploy.get_json()["errors"][0]["loc"] == ["settings"]


@pytest.mark.parametrize(
    "app_overrides",
    [
        {
            "SIZES": {"mastodon": {"cores": 8, "memory_mib": 16384, "disk_gib": 100}},
            "SMTP_HOST": "smtp.provider.example",
        }
    ],
)
def test_provider_sizes_and_mail_relay_reach_the_plan(operator_api: Api) -> None:
    operator_api.put("/configuration", sample_config())
    changes = operator_api.post("/plan").get_json()["changes"]
    machine = next(c for c in changes if c["kind"] == "machine" and c["name"] == "mastodon")
    assert machine["spec"]["cores"] == 8
    mail = [c for c in changes if c["kind"] == "mail"]
    assert {c["spec"]["host"] for c in mail} == {"smtp.provider.example"}


@pytest.mark.both_databases
def test_queued_deployment_lost_with_an_earlier_embedded_queue_is_failed(
    app: Flask, factory: Factory
) -> None:
    operator_id = factory.operator()
    with app.app_context():
        before = utcnow() - timedelta(minutes=5)
        row = Deployment(operator_id=operator_id, status=Status.QUEUED, created_at=before)
        db.session.add(row)
        db.session.commit()
        assert reap_stale_deployments() == 1
        db.session.refresh(row)
        assert row.status == Status.FAILED
        assert "lost" in (row.error or "")


def test_log_lines_lose_nul_characters(app: Flask, factory: Factory) -> None:
    operator_id = factory.operator()
    with app.app_context():
        row = Deployment(operator_id=operator_id, status=Status.RUNNING)
        db.session.add(row)
        db.session.commit()
        Progress(row.id).log(["nixops4 printed \x00 a NUL"])
        assert full_log(row.id) == ["nixops4 printed  a NUL"]


def test_a_step_failing_on_the_database_still_fails_the_deployment(
    app: Flask, factory: Factory
) -> None:
    operator_id = factory.operator()
    with app.app_context():
        row = Deployment(operator_id=operator_id, status=Status.RUNNING)
        db.session.add(row)
        db.session.commit()
        deployment_id = row.id
        db.session.add(Deployment(operator_id=operator_id, status=Status.QUEUED))
        with pytest.raises(IntegrityError):
            db.session.commit()  # the session now needs a rollback before anything else
        Progress(deployment_id).fail("the database refused a row")
        db.session.expire_all()
        failed = db.session.get(Deployment, deployment_id)
        assert failed is not None
        assert (failed.status, failed.error) == (Status.FAILED, "the database refused a row")
