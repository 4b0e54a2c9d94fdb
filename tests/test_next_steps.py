"""Always a next step: a finished deployment, the dashboard and empty pages say what to do."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.helpers import Api, Auth, Factory, sample_config, wait_for_jobs


def _deploy(app: Flask, api: Api) -> int:
    started = api.post("/deployments")
    assert started.status_code == 202, started.get_json()
    wait_for_jobs(app)
    return int(started.get_json()["id"])


def _element(page: str, element_id: str, tag: str) -> str:
    found = re.search(rf'<{tag}[^>]*id="{element_id}"[^>]*>(.*?)</{tag}>', page, re.S)
    assert found, f"no #{element_id} on the page"
    return found.group(1)


def _outcome(page: str) -> str:
    start = page.index('id="outcome"')
    return page[start : page.index('<div class="log-scroll"', start)]


def test_a_finished_deployment_links_each_service_with_its_health_and_admin_login(
    app: Flask, client: FlaskClient, auth: Auth, operator_api: Api
) -> None:
    operator_api.put("/configuration", sample_config())
    deployment_id = _deploy(app, operator_api)
    auth.login("op@acme.example")
    outcome = _outcome(client.get(f"/deployments/{deployment_id}").get_data(as_text=True))
    assert 'data-status="succeeded"' in outcome
    assert '<a href="https://mastodon.acme.example/"' in outcome
    assert '<a href="https://peertube.acme.example/"' in outcome
    assert "pixelfed" not in outcome
    assert outcome.count('<span class="badge not-checked">simulated</span>') == 2
    assert "Administrator: alice" in outcome
    assert 'action="/services/mastodon/admin-password"' in outcome
    assert "Reveal the administrator password" in outcome
    assert 'href="/dashboard#services"' in outcome
    assert "Back to the dashboard" not in outcome


def test_the_provider_reads_the_outcome_without_the_operators_actions(
    app: Flask, client: FlaskClient, factory: Factory, auth: Auth, operator_api: Api
) -> None:
    operator_api.put("/configuration", sample_config())
    deployment_id = _deploy(app, operator_api)
    factory.provider()
    auth.login("admin@provider.example")
    page = client.get(f"/deployments/{deployment_id}").get_data(as_text=True)
    outcome = _outcome(page)
    assert '<a href="https://mastodon.acme.example/"' in outcome
    assert "admin-password" not in outcome
    assert "/dashboard" not in page
    assert "Back to the operator" in outcome


@pytest.mark.parametrize("app_overrides", [{"SIMULATE": False}])
def test_a_failed_deployment_says_what_failed_and_offers_retry_and_edit(
    app: Flask, client: FlaskClient, auth: Auth, operator_api: Api
) -> None:
    operator_api.put("/configuration", sample_config())
    deployment_id = _deploy(app, operator_api)
    auth.login("op@acme.example")
    page = client.get(f"/deployments/{deployment_id}").get_data(as_text=True)
    assert "FEDIPANEL_SIMULATE=0" in _element(page, "error", "p")
    outcome = _outcome(page)
    assert 'data-status="failed"' in outcome
    assert "What failed" in outcome
    assert "The deployment failed during:" in outcome
    assert '<input type="hidden" name="version" value="1">' in outcome
    assert "Retry the deployment" in outcome
    assert 'href="/configuration"' in outcome
    assert f'href="/deployments/{deployment_id}/log.txt"' in outcome
    assert "https://" not in outcome


def test_retry_starts_the_failed_version_again_but_not_once_a_newer_one_is_saved(
    app: Flask, client: FlaskClient, auth: Auth, operator_api: Api
) -> None:
    operator_api.put("/configuration", sample_config())
    auth.login("op@acme.example")
    response = client.post("/deployments", data={"version": "1"})
    assert response.status_code == 302
    assert re.fullmatch(r"/deployments/\d+", response.headers["Location"])
    wait_for_jobs(app)
    operator_api.put("/configuration", sample_config(domain="acme.test"))
    stale = client.post("/deployments", data={"version": "1"}, follow_redirects=True)
    assert "The configuration changed since this plan was shown" in stale.get_data(as_text=True)


def test_an_active_deployment_has_no_outcome_yet(
    client: FlaskClient, auth: Auth, operator_api: Api
) -> None:
    operator_api.put("/configuration", sample_config())
    deployment_id = operator_api.post("/deployments").get_json()["id"]
    auth.login("op@acme.example")
    page = client.get(f"/deployments/{deployment_id}").get_data(as_text=True)
    assert 'id="outcome"' not in page


def test_dashboard_before_anything_shows_the_first_step(
    client: FlaskClient, factory: Factory, auth: Auth
) -> None:
    factory.operator()
    auth.login("op@acme.example")
    page = client.get("/dashboard").get_data(as_text=True)
    first_step = _element(page, "first-step", "section")
    assert 'href="/configuration">Configure your services' in first_step
    assert 'id="deployed"' not in page
    assert "No deployments yet" in page


def test_dashboard_never_shows_a_saved_configuration_as_deployed(
    client: FlaskClient, auth: Auth, operator_api: Api
) -> None:
    operator_api.put("/configuration", sample_config())
    auth.login("op@acme.example")
    page = client.get("/dashboard").get_data(as_text=True)
    deployed = _element(page, "deployed", "section")
    assert "Nothing is deployed yet" in deployed
    assert 'href="/plan">Review the plan' in deployed
    assert "https://" not in page
    assert 'id="services"' not in page
    saved = _element(page, "saved", "section")
    assert "Saved, not deployed yet" in saved
    assert 'id="review-plan" href="/plan"' in saved


def test_dashboard_separates_what_runs_from_what_is_saved(
    app: Flask, client: FlaskClient, auth: Auth, operator_api: Api
) -> None:
    operator_api.put("/configuration", sample_config())
    _deploy(app, operator_api)
    auth.login("op@acme.example")
    page = client.get("/dashboard").get_data(as_text=True)
    assert "Everything saved is deployed." in _element(page, "deployed", "section")
    assert 'id="saved"' not in page
    services = _element(page, "services", "section")
    assert '<a href="https://mastodon.acme.example/">' in services

    changed: dict[str, Any] = sample_config()
    changed["services"]["mastodon"] = {"enable": True, "subdomain": "social"}
    operator_api.put("/configuration", changed)
    page = client.get("/dashboard").get_data(as_text=True)
    deployed = _element(page, "deployed", "section")
    assert "configuration version 1" in deployed
    services = _element(page, "services", "section")
    # What runs keeps its host name until the new version is deployed.
    assert '<a href="https://mastodon.acme.example/">' in services
    assert "social.acme.example" not in services
    saved = _element(page, "saved", "section")
    assert "version 2 is saved" in saved
    differences = _element(saved, "differences", "table")
    assert "services.mastodon.subdomain" in differences
    assert "social" in differences
    assert 'id="review-plan" href="/plan"' in saved


def test_empty_pages_say_what_to_do(client: FlaskClient, factory: Factory, auth: Auth) -> None:
    factory.provider()
    auth.login("admin@provider.example")
    operators = client.get("/provider/operators").get_data(as_text=True)
    assert "No operators yet: create the first one below" in operators
    pool = client.get("/provider/vm-pool").get_data(as_text=True)
    assert "The pool is empty: add a VM below" in pool


def test_an_operators_empty_lists_say_what_comes_there(
    client: FlaskClient, factory: Factory, auth: Auth
) -> None:
    factory.operator()
    auth.login("op@acme.example")
    assert "No tokens yet: create one above" in client.get("/account/tokens").get_data(as_text=True)
    assert "No notices yet: when your provider plans" in client.get("/notices").get_data(
        as_text=True
    )
    deployments = client.get("/deployments").get_data(as_text=True)
    assert 'No deployments yet. <a href="/plan">Review the plan and deploy</a>' in deployments
