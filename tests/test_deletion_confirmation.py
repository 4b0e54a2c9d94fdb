"""A deployment that deletes data needs the operator's domain typed again, on the page and API."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from fedipanel.core.planner import Action, Change, DataFate, Plan
from tests.helpers import Api, Auth, sample_config, wait_for_jobs


def without_peertube(keep_data: bool = True) -> dict[str, Any]:
    config = sample_config()
    config["services"]["peertube"] = {"enable": False, "keepData": keep_data}
    return config


@pytest.fixture
def deployed(app: Flask, operator_api: Api) -> Api:
    """An operator whose Mastodon and PeerTube are deployed (no confirmation needed for that)."""
    operator_api.put("/configuration", sample_config())
    response = operator_api.post("/deployments", {})
    assert response.status_code == 202, response.get_json()
    wait_for_jobs(app)
    return operator_api


def test_plan_names_what_it_deletes_for_good_and_nothing_else() -> None:
    machine = {"cores": 4, "memory_mib": 8192, "disk_gib": 60}
    bucket = {"service": "peertube"}
    plan = Plan(
        [
            Change(Action.DELETE, "machine", "peertube", machine),
            Change(
                Action.DELETE, "s3_bucket", "acme-peertube-videos", bucket, data=DataFate.DELETE
            ),
            Change(Action.DELETE, "s3_key", "acme-peertube", bucket, data=DataFate.DELETE),
            Change(Action.KEEP, "s3_bucket", "acme-pixelfed", bucket, data=DataFate.KEEP),
            Change(Action.DELETE, "s3_bucket", "legacy", bucket, data=DataFate.NEVER_DELETED),
            Change(Action.DELETE, "dns_record", "peertube.acme.example", {}),
            Change(Action.UPDATE, "machine", "mastodon", machine),
        ]
    )
    assert plan.deletions() == [
        "machine peertube with its disk (the service's database and files)",
        "bucket acme-peertube-videos with every object in it",
        "access key acme-peertube",
    ]
    assert Plan([Change(Action.CREATE, "machine", "mastodon", machine)]).deletions() == []


def test_api_refuses_a_deletion_without_the_domain_and_lists_what_it_would_delete(
    deployed: Api,
) -> None:
    deployed.put("/configuration", without_peertube(keep_data=False))
    for body in ({}, {"confirm": ""}, {"confirm": "other.example"}):
        response = deployed.post("/deployments", body)
        assert response.status_code == 422, body
        error = response.get_json()["errors"][0]
        assert error["loc"] == ["confirm"]
        assert "machine peertube with its disk" in error["msg"]
        assert "bucket acme-peertube-videos with every object in it" in error["msg"]
        assert "acme.example" in error["msg"]
    assert len(deployed.get("/deployments").get_json()["deployments"]) == 1  # nothing queued


def test_api_deploys_a_deletion_confirmed_with_the_domain(app: Flask, deployed: Api) -> None:
    deployed.put("/configuration", without_peertube(keep_data=False))
    response = deployed.post("/deployments", {"confirm": " Acme.Example "})
    assert response.status_code == 202, response.get_json()
    wait_for_jobs(app)
    deployment = deployed.get(f"/deployments/{response.get_json()['id']}").get_json()
    assert deployment["status"] == "succeeded", deployment["error"]
    assert any(
        "deleting confirmed by typing the domain:" in line and "machine peertube" in line
        for line in deployment["log"]
    )
    machines = {
        c["name"] for c in deployed.post("/plan").get_json()["changes"] if c["kind"] == "machine"
    }
    assert machines == {"mastodon"}


def test_api_confirmation_must_be_a_string(deployed: Api) -> None:
    deployed.put("/configuration", without_peertube(keep_data=False))
    response = deployed.post("/deployments", {"confirm": True})
    assert response.status_code == 422
    assert response.get_json()["errors"][0]["loc"] == ["confirm"]


def test_plans_that_delete_nothing_deploy_with_an_empty_body(app: Flask, deployed: Api) -> None:
    config = sample_config()
    config["services"]["pixelfed"] = {"enable": True}
    deployed.put("/configuration", config)
    response = deployed.post("/deployments", {})
    assert response.status_code == 202, response.get_json()
    wait_for_jobs(app)


def test_plan_page_asks_for_the_domain_only_when_data_would_be_deleted(
    client: FlaskClient, auth: Auth, deployed: Api
) -> None:
    auth.login("op@acme.example")
    assert 'name="confirm"' not in client.get("/plan").get_data(as_text=True)
    deployed.put("/configuration", without_peertube(keep_data=False))
    page = client.get("/plan").get_data(as_text=True)
    assert "This deployment deletes data for good" in page
    assert "<li>machine peertube with its disk (the service&#39;s database and files)</li>" in page
    assert "<li>bucket acme-peertube-videos with every object in it</li>" in page
    assert 'name="confirm"' in page


def test_plan_page_refuses_a_wrong_or_missing_domain_at_the_field(
    app: Flask, client: FlaskClient, auth: Auth, deployed: Api
) -> None:
    auth.login("op@acme.example")
    deployed.put("/configuration", without_peertube(keep_data=False))
    for typed in (None, "", "evil.example"):
        form = {"version": "2"} | ({} if typed is None else {"confirm": typed})
        response = client.post("/deployments", data=form)
        assert response.status_code == 422
        page = response.get_data(as_text=True)
        assert '<p class="field-error" id="error-confirm">' in page
        error = page.split('id="error-confirm">')[1].split("</p>")[0]
        assert "acme.example" in error
        assert f'value="{typed or ""}"' in page  # what was typed stays in the field
    assert len(deployed.get("/deployments").get_json()["deployments"]) == 1

    response = client.post("/deployments", data={"version": "2", "confirm": "acme.example"})
    assert response.status_code == 302
    assert "/deployments/" in response.headers["Location"]
    wait_for_jobs(app)


def test_plan_page_refuses_to_deploy_a_newer_configuration_than_it_showed(
    client: FlaskClient, auth: Auth, deployed: Api
) -> None:
    auth.login("op@acme.example")
    deployed.put("/configuration", without_peertube(keep_data=False))
    response = client.post("/deployments", data={"version": "1", "confirm": "acme.example"})
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/plan")
    assert "review the new plan" in client.get("/plan").get_data(as_text=True)
    assert len(deployed.get("/deployments").get_json()["deployments"]) == 1
