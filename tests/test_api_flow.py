"""The API's whole path: save, plan, deploy in the simulator, read progress and log."""

from __future__ import annotations

import pytest
from flask import Flask

from tests.helpers import Api, sample_config, wait_for_jobs

# The API reads and writes through the app: it behaves the same on both databases.
pytestmark = pytest.mark.both_databases


def test_operator_deploys_all_three_services_in_the_simulator(
    app: Flask, operator_api: Api
) -> None:
    config = sample_config()
    config["services"]["pixelfed"] = {"enable": True}
    saved = operator_api.put("/configuration", config)
    assert saved.status_code == 200, saved.get_json()
    assert saved.get_json()["version"] == 1

    plan = operator_api.post("/plan").get_json()
    machines = {c["name"] for c in plan["changes"] if c["kind"] == "machine"}
    assert machines == {"mastodon", "pixelfed", "peertube"}
    assert {c["action"] for c in plan["changes"]} == {"create"}

    started = operator_api.post("/deployments")
    assert started.status_code == 202
    assert started.get_json()["status"] == "queued"
    wait_for_jobs(app)

    deployment = operator_api.get(f"/deployments/{started.get_json()['id']}").get_json()
    assert deployment["status"] == "succeeded", deployment["error"]
    assert deployment["progress"] == 100
    assert any(line.startswith("[simulated]") for line in deployment["log"])
    assert "nixops4" in deployment["simulated"]

    again = operator_api.post("/plan").get_json()
    assert {c["action"] for c in again["changes"]} == {"keep"}
