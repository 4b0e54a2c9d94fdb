"""The operator's configuration form, inline validation, history and plan pages."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.helpers import Auth, Factory

FORM = {
    "domain": "acme.example",
    "admin.username": "alice",
    "admin.email": "alice@acme.example",
    "services.mastodon.enable": "on",
    "services.mastodon.subdomain": "",
    "services.pixelfed.subdomain": "",
    "services.peertube.enable": "on",
    "services.peertube.subdomain": "video",
}


@pytest.fixture
def operator(client: FlaskClient, auth: Auth, factory: Factory) -> FlaskClient:
    factory.operator("op@acme.example", slug="acme")
    auth.login("op@acme.example")
    return client


def test_saving_the_form_creates_version_one_and_shows_the_plan(operator: FlaskClient) -> None:
    response = operator.post("/configuration", data=FORM)
    assert response.status_code == 302
    assert response.headers["Location"] == "/plan"
    plan = operator.get("/plan").get_data(as_text=True)
    assert "Saved as version 1" in plan
    assert "video.acme.example" in plan
    assert ">mastodon<" in plan
    assert 'id="deploy"' in plan
    assert "simulated" in plan


def test_invalid_form_shows_messages_at_the_fields_and_keeps_the_input(
    operator: FlaskClient,
) -> None:
    operator.post("/configuration", data=FORM)
    bad = {**FORM, "domain": "Not A Domain", "admin.username": "Alice!"}
    response = operator.post("/configuration", data=bad)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'id="error-domain" aria-live="polite">must be lowercase' in page
    assert 'id="error-admin-username"' in page
    assert "must start with a lowercase letter" in page
    assert 'value="Not A Domain"' in page  # what the user typed is still there
    assert "Nothing was saved" in page
    edit = operator.get("/configuration").get_data(as_text=True)
    assert 'value="acme.example"' in edit  # the saved version is untouched


def test_duplicate_subdomains_are_reported_on_the_services(operator: FlaskClient) -> None:
    bad = {**FORM, "services.peertube.subdomain": "mastodon"}
    page = operator.post("/configuration", data=bad).get_data(as_text=True)
    assert "cannot share the subdomain" in page


def test_inline_validation_answers_each_field_out_of_band(operator: FlaskClient) -> None:
    response = operator.post(
        "/configuration/validate",
        data={**FORM, "domain": "acme"},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert 'id="error-domain" hx-swap-oob="true"' in body
    assert "fully qualified" in body
    # Fields without errors are cleared, so fixed fields lose their old message.
    assert 'id="error-admin-email" hx-swap-oob="true" aria-live="polite"></p>' in body


def test_history_shows_each_version_and_what_changed(operator: FlaskClient) -> None:
    operator.post("/configuration", data=FORM)
    operator.post(
        "/configuration", data={**FORM, "domain": "acme.example", "services.pixelfed.enable": "on"}
    )
    page = operator.get("/configuration/history").get_data(as_text=True)
    assert "Version 2" in page
    assert "Version 1" in page
    assert "services.pixelfed.enable" in page


def test_saving_unchanged_form_creates_no_version(operator: FlaskClient) -> None:
    operator.post("/configuration", data=FORM)
    operator.post("/configuration", data=FORM)
    page = operator.get("/plan").get_data(as_text=True)
    assert "No changes: version 1 is still current" in page


def test_plan_before_any_configuration_sends_the_operator_to_the_form(
    operator: FlaskClient,
) -> None:
    response = operator.get("/plan")
    assert response.headers["Location"] == "/configuration"


def test_dashboard_guides_a_new_operator(operator: FlaskClient) -> None:
    page = operator.get("/dashboard").get_data(as_text=True)
    assert "Configure your services" in page


def test_deploy_button_starts_a_deployment_and_shows_its_page(
    app: Flask, operator: FlaskClient
) -> None:
    from tests.helpers import wait_for_jobs

    operator.post("/configuration", data=FORM)
    response = operator.post("/deployments")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/deployments/")
    wait_for_jobs(app)
    page = operator.get(response.headers["Location"]).get_data(as_text=True)
    assert "succeeded" in page
    dashboard = operator.get("/dashboard").get_data(as_text=True)
    assert "acme.example" in dashboard
    assert "succeeded" in dashboard


def test_unknown_pages_get_a_friendly_404(operator: FlaskClient) -> None:
    response = operator.get("/no/such/page")
    assert response.status_code == 404
    assert "Back to the start page" in response.get_data(as_text=True)


def test_oversized_request_is_refused_cleanly(operator: FlaskClient) -> None:
    response = operator.post("/configuration", data={**FORM, "domain": "a" * (2 * 1024 * 1024)})
    assert response.status_code == 413


def test_inline_validation_does_not_nag_about_fields_not_filled_in_yet(
    operator: FlaskClient,
) -> None:
    body = operator.post(
        "/configuration/validate",
        data={"domain": "bad domain", "admin.username": "", "admin.email": ""},
        headers={"HX-Request": "true"},
    ).get_data(as_text=True)
    assert "fully qualified domain" in body
    assert 'id="error-admin-username" hx-swap-oob="true" aria-live="polite"></p>' in body
    assert 'id="error-admin-email" hx-swap-oob="true" aria-live="polite"></p>' in body
