"""Texts that come from the code (settings sections, form errors, phases, error pages) in Dutch."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient

from tests.helpers import Api, Auth, Factory, sample_config, wait_for_jobs

DUTCH = {"Accept-Language": "nl"}


def test_a_settings_section_shows_its_title_labels_and_errors_in_dutch(
    client: FlaskClient, auth: Auth, factory: Factory
) -> None:
    factory.provider()
    auth.login("admin@provider.example")
    page = client.get("/provider/settings/proxmox", headers=DUTCH).get_data(as_text=True)
    assert ">Adresbereik</label>" in page
    assert "Address range" not in page
    assert "standaard → opgeslagen in het panel" in page
    refused = client.post(
        "/provider/settings/proxmox", data={"PROXMOX_URL": "not a url"}, headers=DUTCH
    )
    assert refused.status_code == 422
    text = refused.get_data(as_text=True)
    assert "moet eruitzien als https://host:8006 (zonder inloggegevens)" in text
    assert "nodig als Proxmox is ingesteld" in text
    english = client.get("/provider/settings/proxmox").get_data(as_text=True)
    assert ">Address range</label>" in english


def test_the_new_operator_form_reports_its_errors_in_dutch(
    client: FlaskClient, auth: Auth, factory: Factory
) -> None:
    factory.provider()
    auth.login("admin@provider.example")
    answer = client.post(
        "/provider/operators", data={"email": "nope", "password": "x"}, headers=DUTCH
    )
    assert answer.status_code == 400
    assert "moet een e-mailadres zijn, zoals alice@acme.example" in answer.get_data(as_text=True)


def test_a_finished_deployment_shows_its_state_and_phase_in_dutch(
    app: Flask, client: FlaskClient, auth: Auth, operator_api: Api
) -> None:
    operator_api.put("/configuration", sample_config())
    deployment = operator_api.post("/deployments").get_json()
    wait_for_jobs(app)
    auth.login("op@acme.example")
    path = f"/deployments/{deployment['id']}"
    page = client.get(path, headers=DUTCH).get_data(as_text=True)
    assert 'id="status">gelukt</span>' in page
    assert '<span id="phase">Uitgerold</span>' in page
    english = client.get(path).get_data(as_text=True)
    assert 'id="status">succeeded</span>' in english
    assert '<span id="phase">Deployed</span>' in english


def test_error_pages_speak_dutch(client: FlaskClient, auth: Auth, factory: Factory) -> None:
    factory.operator("op@acme.example")
    auth.login("op@acme.example")
    missing = client.get("/no-such-page", headers=DUTCH)
    assert missing.status_code == 404
    assert "<h1>Niet gevonden</h1>" in missing.get_data(as_text=True)
    refused = client.get("/provider/operators", headers=DUTCH)
    assert refused.status_code == 403
    assert "Deze pagina is voor de beheerders van de aanbieder." in refused.get_data(as_text=True)
    assert "<h1>Not found</h1>" in client.get("/no-such-page").get_data(as_text=True)


def test_the_maintenance_form_names_the_days_in_dutch(
    client: FlaskClient, auth: Auth, factory: Factory
) -> None:
    factory.operator("op@acme.example")
    auth.login("op@acme.example")
    page = client.get("/maintenance", headers=DUTCH).get_data(as_text=True)
    assert ">maandag</option>" in page
    assert ">zondag</option>" in page
    assert ">Monday</option>" in client.get("/maintenance").get_data(as_text=True)
