"""The provider's page of one operator, read-only deployments, and changes not yet deployed."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from flask.testing import FlaskClient

from fedipanel.configurations.versions import service_changes
from fedipanel.core.resources import Resource
from fedipanel.resources import records
from fedipanel.storage.records import assign_bucket
from tests.helpers import Api, Auth, Factory, sample_config, wait_for_jobs


@pytest.fixture
def operator_id(factory: Factory) -> int:
    return factory.operator("op@acme.example", slug="acme")


@pytest.fixture
def deployed(app: Flask, client: FlaskClient, factory: Factory, operator_id: int) -> int:
    """Deploy the sample configuration for the operator; return the deployment's id."""
    api = Api(client, factory.token(operator_id))
    api.put("/configuration", sample_config())
    deployment_id = int(api.post("/deployments").get_json()["id"])
    wait_for_jobs(app)
    return deployment_id


@pytest.fixture
def provider(client: FlaskClient, auth: Auth, factory: Factory) -> FlaskClient:
    factory.provider()
    auth.login("admin@provider.example")
    return client


def test_the_operators_list_links_to_each_operators_page(
    provider: FlaskClient, operator_id: int
) -> None:
    page = provider.get("/provider/operators").get_data(as_text=True)
    assert f'href="/provider/operators/{operator_id}"' in page


def test_operator_page_shows_configurations_deployments_machines_buckets_quota_and_audit(
    app: Flask, client: FlaskClient, factory: Factory, operator_id: int, deployed: int
) -> None:
    api = Api(client, factory.token(operator_id))
    api.put("/configuration", sample_config(domain="acme.test"))
    factory.provider()
    Auth(client).login("admin@provider.example")
    page = client.get(f"/provider/operators/{operator_id}").get_data(as_text=True)

    saved = _section(page, "saved-configuration")
    deployed_config = _section(page, "deployed-configuration")
    assert "acme.test" in saved
    assert "acme.test" not in deployed_config
    assert "acme.example" in deployed_config
    assert 'data-service="mastodon"' in page  # a domain change touches every enabled service
    assert f'href="/deployments/{deployed}"' in page
    assert "192.0.2.10" in page  # the simulated mastodon machine's address
    assert "acme-peertube-videos" in page
    assert "4 vCPUs, 8192 MiB, 40 GiB" in page
    assert "used of unlimited" in page
    assert '<dd id="usage-vms">2</dd>' in page  # this month's usage: both machines so far
    assert "deployment.started" in _section(page, "audit", tag="section")


def test_operator_page_shows_each_machines_vm_and_node_and_preconfigured_buckets(
    app: Flask, provider: FlaskClient, operator_id: int
) -> None:
    with app.app_context():
        machine = Resource("machine", "mastodon", {"cores": 2, "memory_mib": 2048, "disk_gib": 20})
        facts = {"via": "proxmox", "vmid": 4242, "node": "pve2", "address": "198.51.100.20"}
        records.record(operator_id, None, machine, facts, simulated=False)
        assign_bucket(
            operator_id,
            "peertube",
            endpoint="https://s3.example",
            region="garage",
            bucket="acme-videos",
            access_key_id="GK1234567890",
            secret="bucket-secret-value",
        )
    page = provider.get(f"/provider/operators/{operator_id}").get_data(as_text=True)
    assert "Proxmox VM 4242 on node <code>pve2</code>" in page
    assert "198.51.100.20" in page
    assert "acme-videos" in page
    assert "GK1234567890" in page
    assert "bucket-secret-value" not in page


def test_provider_reads_any_operators_deployment_and_its_log_without_deploy_buttons(
    provider: FlaskClient, operator_id: int, deployed: int
) -> None:
    response = provider.get(f"/deployments/{deployed}")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert 'id="read-only"' in page
    assert f'href="/provider/operators/{operator_id}"' in page
    assert "== " in page  # the log's phase lines
    assert 'action="/deployments"' not in page  # no Deploy form
    assert "/dashboard" not in page  # the operator's own links are left out
    log = provider.get(f"/deployments/{deployed}/log.txt")
    assert log.status_code == 200
    assert log.mimetype == "text/plain"
    assert "nixops4" in log.get_data(as_text=True)
    assert provider.get("/deployments/999").status_code == 404


def test_provider_reads_the_progress_fragment_which_stops_polling_once_finished(
    provider: FlaskClient, deployed: int
) -> None:
    fragment = provider.get(f"/deployments/{deployed}", headers={"HX-Request": "true"})
    assert fragment.status_code == 286  # finished: htmx stops polling
    assert 'id="progress"' in fragment.get_data(as_text=True)


def test_dashboard_lists_the_services_with_changes_not_yet_deployed(
    client: FlaskClient, factory: Factory, operator_id: int, deployed: int
) -> None:
    auth = Auth(client)
    auth.login("op@acme.example")
    assert "Everything saved is deployed." in client.get("/dashboard").get_data(as_text=True)
    config = sample_config()
    config["services"]["pixelfed"] = {"enable": True}
    config["services"]["peertube"] = {"enable": False}
    config["services"]["mastodon"] = {"enable": True, "subdomain": "social"}
    Api(client, factory.token(operator_id)).put("/configuration", config)
    page = client.get("/dashboard").get_data(as_text=True)
    pending = _section(page, "pending", tag="div")
    assert "version 2 is saved" in pending
    assert "version 1 is deployed" in pending
    assert re.search(r"Mastodon</strong>: changed", pending)
    assert re.search(r"Pixelfed</strong>: to be added", pending)
    assert re.search(r"PeerTube</strong>: to be removed", pending)


def test_before_the_first_deployment_every_enabled_service_is_to_be_added(
    client: FlaskClient, operator_api: Api, auth: Auth
) -> None:
    operator_api.put("/configuration", sample_config())
    auth.login("op@acme.example")
    pending = _section(client.get("/dashboard").get_data(as_text=True), "pending", tag="div")
    assert "nothing is deployed yet" in pending
    assert 'data-service="mastodon"' in pending
    assert 'data-service="peertube"' in pending
    assert 'data-service="pixelfed"' not in pending


def test_which_services_change_follows_their_own_and_the_shared_settings() -> None:
    deployed = sample_config()
    deployed["services"]["pixelfed"] = {"enable": False, "keepData": True}
    unchanged = sample_config()
    unchanged["services"]["pixelfed"] = {"enable": False, "keepData": False}
    # A keep-data choice on a service that stays off changes nothing that runs.
    assert service_changes(deployed, unchanged) == {}
    assert service_changes(deployed, sample_config(domain="acme.test")) == {
        "mastodon": "changed",
        "peertube": "changed",
    }
    assert service_changes(None, sample_config()) == {
        "mastodon": "to be added",
        "peertube": "to be added",
    }


def test_an_unknown_operator_or_a_providers_id_has_no_operator_page(
    provider: FlaskClient, operator_id: int
) -> None:
    assert provider.get("/provider/operators/999").status_code == 404
    assert provider.get(f"/provider/operators/{operator_id + 1}").status_code == 404


def _section(page: str, element_id: str, tag: str = "pre") -> str:
    match = re.search(rf'<{tag}[^>]*id="{element_id}"[^>]*>(.*?)</{tag}>', page, re.S)
    assert match, f"no #{element_id} on the page"
    return match.group(1)


def test_the_api_summarises_an_operator(
    client: FlaskClient, factory: Factory, operator_id: int, deployed: int
) -> None:
    Api(client, factory.token(operator_id)).put("/configuration", sample_config(domain="acme.test"))
    api = Api(client, factory.token(factory.provider()))
    body = api.get(f"/operators/{operator_id}").get_json()
    assert body["id"] == operator_id
    assert body["email"] == "op@acme.example"
    assert body["deploymentName"] == "acme"
    assert body["status"] == "active"
    assert body["createdAt"].endswith("Z")
    assert body["latestDeployment"]["id"] == deployed
    assert body["configuration"] == {
        "savedVersion": 2,
        "deployedVersion": 1,
        "undeployed": {"mastodon": "changed", "peertube": "changed"},
    }
    assert body["quota"]["used"]["vms"] == 2
    assert body["quota"]["limits"]["vms"] is None
    assert {m["name"] for m in body["machines"]} == {"mastodon", "peertube"}
    assert "acme-mastodon" in {b["name"] for b in body["buckets"]}


def test_the_api_lists_operators_a_page_at_a_time(client: FlaskClient, factory: Factory) -> None:
    ids = [factory.operator(f"op{n}@acme.example") for n in range(5)]
    api = Api(client, factory.token(factory.provider()))
    seen: list[int] = []
    path: str | None = "/api/v1/operators?limit=2"
    while path:
        body = client.get(path, headers=api.headers).get_json()
        assert len(body["operators"]) <= 2
        seen += [row["id"] for row in body["operators"]]
        path = body["next"]
    assert seen == ids  # the provider is not listed
    assert api.get("/operators?limit=0").status_code == 422
    assert api.get("/operators?after=x").get_json()["errors"][0]["loc"] == ["after"]
