"""Administrator passwords: made by a deployment, revealed only after the operator's own
password (no-store, audited), rotated into a new deployment; simulated checks say so."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from fedipanel.audit.models import AuditEntry
from fedipanel.db import db
from fedipanel.services.models import AdminPassword
from fedipanel.web import services as services_web
from tests.helpers import PASSWORD, Api, Auth, Factory, sample_config, wait_for_jobs


def deploy(app: Flask, api: Api) -> dict[str, Any]:
    started = api.post("/deployments")
    assert started.status_code == 202, started.get_json()
    wait_for_jobs(app)
    return dict(api.get(f"/deployments/{started.get_json()['id']}").get_json())


def audited(app: Flask, action: str) -> list[dict[str, Any]]:
    with app.app_context():
        rows = db.session.scalars(select(AuditEntry).where(AuditEntry.action == action))
        return [dict(row.details) for row in rows]


def stored(app: Flask) -> dict[str, tuple[str, int]]:
    with app.app_context():
        return {
            row.service: (row.password_encrypted, row.generation)
            for row in db.session.scalars(select(AdminPassword))
        }


def test_a_deployment_makes_one_password_per_service_and_simulated_checks_say_so(
    app: Flask, operator_api: Api
) -> None:
    operator_api.put("/configuration", sample_config())
    before = operator_api.get("/services").get_json()
    assert [s["health"]["ok"] for s in before] == [None, None]
    assert before[0]["admin"] == {
        "username": "alice",
        "login": None,
        "detail": before[0]["admin"]["detail"],
    }

    result = deploy(app, operator_api)
    assert result["status"] == "succeeded", result["error"]
    assert sorted(stored(app)) == ["mastodon", "peertube"]
    services = operator_api.get("/services").get_json()
    assert [s["service"] for s in services] == ["mastodon", "peertube"]
    for service in services:
        # Nothing was asked of a simulated machine, and nothing claims it was.
        assert service["health"]["ok"] is None
        assert service["admin"]["login"] == "simulated"
        assert service["health"]["detail"].startswith("[simulated] not checked")
    passwords = [
        operator_api.post(f"/services/{s}/admin-password", {"password": PASSWORD}).get_json()
        for s in ("mastodon", "peertube")
    ]
    assert passwords[0]["password"] != passwords[1]["password"]
    assert all(p["password"] not in "\n".join(result["log"]) for p in passwords)


def test_reveal_needs_the_operators_password_is_no_store_and_audited(
    app: Flask, operator_api: Api
) -> None:
    operator_api.put("/configuration", sample_config())
    deploy(app, operator_api)
    wrong = operator_api.post("/services/mastodon/admin-password", {"password": "guess"})
    assert wrong.status_code == 422
    assert wrong.get_json()["errors"][0]["loc"] == ["password"]
    assert "password" not in wrong.get_json()
    missing = operator_api.post("/services/mastodon/admin-password", {})
    assert missing.status_code == 422
    assert missing.get_json()["errors"][0]["loc"] == ["password"]

    right = operator_api.post("/services/mastodon/admin-password", {"password": PASSWORD})
    assert right.status_code == 200
    assert right.headers["Cache-Control"] == "no-store"
    body = right.get_json()
    assert body["service"] == "mastodon"
    assert body["generation"] == 1
    assert len(body["password"]) >= 32
    assert audited(app, "admin_password.reveal_refused") == [{"service": "mastodon"}]
    assert audited(app, "admin_password.revealed") == [{"service": "mastodon"}]


def test_another_operators_or_an_unknown_service_is_404(
    app: Flask, client: FlaskClient, factory: Factory, operator_api: Api
) -> None:
    operator_api.put("/configuration", sample_config())
    deploy(app, operator_api)
    other = Api(client, factory.token(factory.operator("other@beta.example", slug="beta")))
    for api, path in [
        (other, "/services/mastodon/admin-password"),
        (operator_api, "/services/pixelfed/admin-password"),
        (operator_api, "/services/nonsense/admin-password"),
    ]:
        response = api.post(path, {"password": PASSWORD})
        assert response.status_code == 404, path
        assert "password" not in response.get_json()
    assert other.post("/services/mastodon/admin-password/rotate", {}).status_code == 404
    assert other.get("/services").get_json() == []


def test_rotate_makes_a_new_password_and_deploys_it(app: Flask, operator_api: Api) -> None:
    operator_api.put("/configuration", sample_config())
    deploy(app, operator_api)
    old = operator_api.post("/services/mastodon/admin-password", {"password": PASSWORD})
    plan = operator_api.post("/plan").get_json()
    assert {c["action"] for c in plan["changes"]} == {"keep"}

    rotated = operator_api.post("/services/mastodon/admin-password/rotate", {})
    assert rotated.status_code == 202, rotated.get_json()
    wait_for_jobs(app)
    deployment = operator_api.get(f"/deployments/{rotated.get_json()['deployment']}").get_json()
    assert deployment["status"] == "succeeded", deployment["error"]
    # The machine's configuration changed (fedipanel.admin.rotation): the plan said so.
    assert "update nixos mastodon" in deployment["log"]
    assert "update nixos peertube" not in deployment["log"]
    new = operator_api.post("/services/mastodon/admin-password", {"password": PASSWORD})
    assert new.get_json()["generation"] == 2
    assert new.get_json()["password"] != old.get_json()["password"]
    assert audited(app, "admin_password.rotated") == [{"service": "mastodon", "generation": 2}]


def test_rotate_while_a_deployment_runs_changes_nothing(
    app: Flask, operator_api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    operator_api.put("/configuration", sample_config())
    deploy(app, operator_api)
    before = stored(app)
    monkeypatch.setattr(services_web, "active_deployment", lambda operator_id: object())
    refused = operator_api.post("/services/mastodon/admin-password/rotate", {})
    assert refused.status_code == 409
    assert refused.get_json()["errors"][0]["loc"] == ["deployment"]
    assert stored(app) == before


def test_rotate_that_cannot_deploy_keeps_the_old_password(app: Flask, operator_api: Api) -> None:
    operator_api.put("/configuration", sample_config())
    deploy(app, operator_api)
    before = stored(app)
    # Disabling a service without keeping its data needs the domain typed again.
    services = sample_config()["services"] | {"peertube": {"enable": False, "keepData": False}}
    operator_api.put("/configuration", sample_config(services=services))
    refused = operator_api.post("/services/mastodon/admin-password/rotate", {})
    assert refused.status_code == 422, refused.get_json()
    assert stored(app) == before
    assert audited(app, "admin_password.rotated") == []


def test_changing_the_admin_username_or_email_is_a_planned_change(
    app: Flask, operator_api: Api
) -> None:
    operator_api.put("/configuration", sample_config())
    deploy(app, operator_api)
    operator_api.put(
        "/configuration",
        sample_config(admin={"username": "bob", "email": "bob@acme.example"}),
    )
    plan = operator_api.post("/plan").get_json()
    updates = {(c["kind"], c["name"]) for c in plan["changes"] if c["action"] == "update"}
    assert updates == {("nixos", "mastodon"), ("nixos", "peertube")}
    services = operator_api.get("/services").get_json()
    assert {s["admin"]["username"] for s in services} == {"bob"}


def test_dashboard_reveals_the_password_after_the_operators_password(
    app: Flask, client: FlaskClient, auth: Auth, operator_api: Api
) -> None:
    operator_api.put("/configuration", sample_config())
    deploy(app, operator_api)
    auth.login("op@acme.example")
    page = client.get("/dashboard").get_data(as_text=True)
    assert 'id="services"' in page
    assert "Reveal the administrator password" in page
    wrong = client.post("/services/mastodon/admin-password", data={"password": "guess"})
    assert wrong.status_code == 422
    assert "That is not your password." in wrong.get_data(as_text=True)
    right = client.post("/services/mastodon/admin-password", data={"password": PASSWORD})
    assert right.status_code == 200
    assert right.headers["Cache-Control"] == "no-store"
    shown = operator_api.post("/services/mastodon/admin-password", {"password": PASSWORD})
    assert shown.get_json()["password"] in right.get_data(as_text=True)
    rotated = client.post("/services/mastodon/admin-password/rotate")
    assert rotated.status_code == 302
    assert "/deployments/" in rotated.headers["Location"]
    wait_for_jobs(app)
