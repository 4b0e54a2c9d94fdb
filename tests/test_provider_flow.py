"""The provider's pages: settings by section, notices after a change, forms that keep input."""

from __future__ import annotations

import logging
import re

import pytest
from flask import Flask
from flask.testing import FlaskClient

from fedipanel.accounts.users import find_user
from fedipanel.machines.quota import quota_of
from fedipanel.provider_settings.registry import SECTIONS
from tests.helpers import Auth, Factory
from tests.test_machines_pages import HOST_KEY

# No relay answers there: saving it takes the provider's confirmation.
MAIL = {"save_anyway": "yes", "SMTP_HOST": "smtp.provider.example", "SMTP_PORT": "2525"}


@pytest.fixture
def provider(client: FlaskClient, auth: Auth, factory: Factory) -> FlaskClient:
    factory.provider()
    auth.login("admin@provider.example")
    return client


def _state(page: str, section: str) -> str:
    found = re.search(rf'<tr id="{section}" data-state="([a-z ]+)">', page)
    assert found, f"no row for {section}"
    return found.group(1)


def test_the_settings_index_summarises_each_section_and_links_its_page(
    provider: FlaskClient,
) -> None:
    page = provider.get("/provider/settings").get_data(as_text=True)
    for sec in SECTIONS:
        assert f'href="/provider/settings/{sec.name}">{sec.title}</a>' in page
    assert _state(page, "mail") == "simulated"
    assert _state(page, "proxmox") == "simulated"
    assert _state(page, "sizes") == "not configured"
    assert 'name="SMTP_HOST"' not in page  # the forms are on the sections' pages
    saved = provider.post("/provider/settings/sizes", data={"SIZE_MASTODON": "4/8192/40"})
    assert saved.status_code == 302
    page = provider.get("/provider/settings").get_data(as_text=True)
    assert _state(page, "sizes") == "configured"


@pytest.mark.parametrize("app_overrides", [{"SIMULATE": False}])
def test_without_simulators_an_unconfigured_section_is_not_configured(
    provider: FlaskClient,
) -> None:
    page = provider.get("/provider/settings").get_data(as_text=True)
    assert _state(page, "mail") == "not configured"


def test_each_section_has_its_own_page_and_saving_returns_to_it(provider: FlaskClient) -> None:
    page = provider.get("/provider/settings/mail").get_data(as_text=True)
    assert 'name="SMTP_HOST"' in page
    assert 'name="DNS_SERVER"' not in page
    assert 'href="/provider/settings">All settings' in page
    saved = provider.post("/provider/settings/mail", data=MAIL)
    assert saved.status_code == 302
    assert saved.headers["Location"] == "/provider/settings/mail"
    assert provider.get("/provider/settings/nothing").status_code == 404


def test_operators_cannot_open_a_settings_section(
    client: FlaskClient, factory: Factory, auth: Auth
) -> None:
    factory.operator()
    auth.login("op@acme.example")
    assert client.get("/provider/settings/mail").status_code == 403


def test_a_refused_setting_is_marked_at_its_field(provider: FlaskClient) -> None:
    response = provider.post("/provider/settings/mail", data={**MAIL, "SMTP_PORT": "lots"})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    field = re.search(r'<input id="SMTP_PORT"[^>]*>', page)
    assert field
    assert 'aria-invalid="true"' in field.group(0)
    assert "error-SMTP_PORT" in field.group(0)
    assert 'id="error-SMTP_PORT"' in page
    assert 'value="lots"' in page
    assert 'value="smtp.provider.example"' in page


def test_saving_sizes_says_who_gets_them_and_links_a_rollout(provider: FlaskClient) -> None:
    page = provider.post(
        "/provider/settings/sizes", data={"SIZE_MASTODON": "4/8192/40"}, follow_redirects=True
    ).get_data(as_text=True)
    assert "settings saved." in page
    notice = re.search(r'<p class="flash notice"[^>]*>(.*?)</p>', page, re.S)
    assert notice, page
    assert "Operators who have deployed keep theirs until a rollout applies them" in notice.group(1)
    assert '<a href="/rollouts/new">Create a rollout</a>' in notice.group(1)


def test_saving_the_mail_relay_says_it_reaches_every_next_deployment(
    provider: FlaskClient,
) -> None:
    page = provider.post("/provider/settings/mail", data=MAIL, follow_redirects=True)
    text = page.get_data(as_text=True)
    assert "Every operator&#39;s next deployment uses the relay" in text
    assert "/rollouts/new" not in text


def test_quota_and_pool_changes_say_whom_they_affect(
    provider: FlaskClient, factory: Factory
) -> None:
    operator_id = factory.operator()
    quota = provider.post(
        f"/provider/quotas/{operator_id}", data={"vms": "3"}, follow_redirects=True
    ).get_data(as_text=True)
    assert "Quota for op@acme.example saved. It applies from their next plan" in quota
    pool = provider.post(
        "/provider/vm-pool",
        data={"address": "192.0.2.20", "host_key": HOST_KEY},
        follow_redirects=True,
    ).get_data(as_text=True)
    assert "192.0.2.20 added to the pool. The next operator machine" in pool


def test_new_operator_reports_every_problem_at_once_and_keeps_what_was_typed(
    app: Flask, provider: FlaskClient
) -> None:
    form = {
        "email": "not-an-address",
        "slug": "Bad Name",
        "password": "short",
        "vms": "2",
        "cores": "many",
        "memory_mib": "",
        "disk_gib": "-1",
    }
    response = provider.post("/provider/operators", data=form)
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    for name in ("email", "slug", "password", "cores", "disk_gib"):
        assert f'id="error-{name}"' in page, name
        field = re.search(rf'<input id="(quota-)?{name}"[^>]*>', page)
        assert field, name
        assert 'aria-invalid="true"' in field.group(0), name
        assert f"error-{name}" in field.group(0), name
    assert 'id="error-vms"' not in page
    assert 'value="not-an-address"' in page
    assert 'value="Bad Name"' in page
    assert 'value="2"' in page
    assert 'value="many"' in page
    assert 'value="short"' not in page  # a password is typed again, never sent back
    with app.app_context():
        assert find_user("not-an-address") is None


def test_a_quota_error_alone_keeps_the_whole_form_and_creates_nobody(
    app: Flask, provider: FlaskClient
) -> None:
    form = {"email": "new@ops.example", "password": "a long enough secret", "vms": "x"}
    page = provider.post("/provider/operators", data=form).get_data(as_text=True)
    assert 'id="error-vms"' in page
    assert 'value="new@ops.example"' in page
    with app.app_context():
        assert find_user("new@ops.example") is None


def test_new_operator_with_a_quota_is_created_with_it(app: Flask, provider: FlaskClient) -> None:
    form = {"email": "new@ops.example", "password": "a long enough secret", "vms": "2"}
    response = provider.post("/provider/operators", data=form, follow_redirects=True)
    assert "Operator new@ops.example created" in response.get_data(as_text=True)
    with app.app_context():
        user = find_user("new@ops.example")
        assert user is not None
        limits = quota_of(user.id)
        assert (limits.get("vms"), limits.get("cores")) == (2, None)


def test_an_unexpected_error_says_what_is_true_with_a_reference_from_the_log(
    client: FlaskClient,
    factory: Factory,
    auth: Auth,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    factory.operator()
    auth.login("op@acme.example")

    def broken(operator_id: int) -> None:
        raise RuntimeError("secret detail of the failure")

    monkeypatch.setattr("fedipanel.web.configurations.pending_changes", broken)
    with caplog.at_level(logging.ERROR):
        response = client.get("/dashboard", headers={"Referer": "http://localhost/deployments"})
    assert response.status_code == 500
    page = response.get_data(as_text=True)
    assert "Nothing you entered was lost" not in page
    assert "the request was not completed" in page
    assert "secret detail" not in page
    reference = re.search(r"Reference for your provider: ([0-9a-f]{12})", page)
    assert reference
    assert reference.group(1) in caplog.text
    assert "secret detail of the failure" in caplog.text
    assert 'href="http://localhost/deployments">Back to the previous page' in page
    assert 'href="/">Back to the start page' in page


def test_a_pool_vm_with_two_bad_fields_gets_both_messages_and_keeps_them(
    provider: FlaskClient,
) -> None:
    response = provider.post(
        "/provider/vm-pool", data={"address": "not an address!", "host_key": "nonsense"}
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    for name in ("address", "host_key"):
        assert f'id="error-{name}"' in page
        field = re.search(rf'<input id="{name}"[^>]*>', page)
        assert field
        assert f'aria-describedby="error-{name}"' in field.group(0)
    assert 'value="not an address!"' in page
    assert 'value="nonsense"' in page


def test_the_configuration_form_links_each_refused_field_to_its_message(
    client: FlaskClient, factory: Factory, auth: Auth
) -> None:
    factory.operator()
    auth.login("op@acme.example")
    form = {"domain": "Not A Domain", "admin.username": "alice", "admin.email": "nope"}
    page = client.post("/configuration", data=form).get_data(as_text=True)
    for key, error_id in (("domain", "error-domain"), ("admin.email", "error-admin-email")):
        field = re.search(rf'<input id="{re.escape(key)}"[^>]*>', page)
        assert field, key
        assert f'aria-describedby="{error_id}"' in field.group(0)
        assert 'aria-invalid="true"' in field.group(0)
    username = re.search(r'<input id="admin.username"[^>]*>', page)
    assert username
    assert "aria-invalid" not in username.group(0)
