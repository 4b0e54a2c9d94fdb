"""Provider settings whose connection test fails are saved only when the provider confirms.

Each section is tested against its fake (Proxmox, Garage, BIND, an SMTP relay): settings that
work save at once; settings that do not are refused with the test's answer and a "Save
anyway" choice; once saved anyway, the settings page and the operators page say that
deployments will fail until fixed, until settings that pass are saved.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from fedipanel.db import db
from fedipanel.provider_settings.models import ProviderSetting, SectionTest
from tests.helpers import Auth, Factory
from tests.plugins.garage import garage_settings

# Starts programs of its own (named, sshd, moto): not in `make test-fast`.
pytestmark = pytest.mark.external

WARNING = "deployments will fail until fixed"


def _garage(request: pytest.FixtureRequest) -> tuple[dict[str, Any], dict[str, str], str]:
    fake = request.getfixturevalue("garage")
    good = {**garage_settings(fake), "S3_REGION": "garage", "S3_QUOTA_GIB": "50"}
    return good, {"GARAGE_ADMIN_TOKEN": "wrong"}, "refused the admin token"


def _proxmox(request: pytest.FixtureRequest) -> tuple[dict[str, Any], dict[str, str], str]:
    fake = request.getfixturevalue("fake_pve")
    good = fake.settings(VM_ADDRESSES="127.0.10.10-127.0.10.20/24")
    return good, {"PROXMOX_NODES": "pve9"}, "Unknown node &#39;pve9&#39;"


def _dns(request: pytest.FixtureRequest) -> tuple[dict[str, Any], dict[str, str], str]:
    bind = request.getfixturevalue("bind")
    return bind.settings(), {"DNS_TSIG_NAME": "stranger"}, "does not know the TSIG key"


def _mail(request: pytest.FixtureRequest) -> tuple[dict[str, Any], dict[str, str], str]:
    relay = request.getfixturevalue("smtp_relay")
    return (
        relay.settings(),
        {"SMTP_PASSWORD": "wrong-password"},
        "refused the user name or password",
    )


SECTIONS: dict[str, Callable[[pytest.FixtureRequest], tuple[dict[str, Any], dict[str, str], str]]]
SECTIONS = {"garage": _garage, "proxmox": _proxmox, "dns": _dns, "mail": _mail}


@pytest.fixture
def provider(client: FlaskClient, auth: Auth, factory: Factory) -> FlaskClient:
    factory.provider()
    auth.login("admin@provider.example")
    return client


def _saved(app: Flask) -> dict[str, str]:
    with app.app_context():
        return {row.key: row.value for row in db.session.scalars(select(ProviderSetting))}


def _last_test(app: Flask, section: str) -> SectionTest | None:
    with app.app_context():
        row = db.session.get(SectionTest, section)
        if row is not None:
            db.session.expunge(row)
        return row


@pytest.mark.parametrize("section", list(SECTIONS))
def test_failing_settings_wait_for_confirmation_then_warn_until_fixed(
    app: Flask, provider: FlaskClient, request: pytest.FixtureRequest, section: str
) -> None:
    good, bad, answer = SECTIONS[section](request)
    url = f"/provider/settings/{section}"

    refused = provider.post(url, data={**good, **bad})
    assert refused.status_code == 422
    page = refused.get_data(as_text=True)
    assert f'id="refused-{section}"' in page
    assert answer in page
    assert 'name="save_anyway" value="yes"' in page
    assert _saved(app) == {}
    assert _last_test(app, section) is None

    confirmed = provider.post(url, data={**good, **bad, "save_anyway": "yes"})
    assert confirmed.status_code == 302
    assert set(bad) <= set(_saved(app))
    last = _last_test(app, section)
    assert last is not None
    assert not last.ok
    assert answer.replace("&#39;", "'") in last.problems
    page = provider.get(url).get_data(as_text=True)
    assert f'id="failing-{section}"' in page
    assert WARNING in page
    index = provider.get("/provider/settings").get_data(as_text=True)
    assert f'<tr id="{section}" data-state="failing">' in index
    operators = provider.get("/provider/operators").get_data(as_text=True)
    assert 'id="failing-settings"' in operators
    assert f'href="{url}"' in operators
    assert "Deployments will fail until fixed" in operators

    fixed = provider.post(url, data=good)
    assert fixed.status_code == 302
    last = _last_test(app, section)
    assert last is not None
    assert last.ok, last.problems
    assert WARNING not in provider.get(url).get_data(as_text=True)
    index = provider.get("/provider/settings").get_data(as_text=True)
    assert f'<tr id="{section}" data-state="configured">' in index
    assert 'id="failing-settings"' not in provider.get("/provider/operators").get_data(as_text=True)


def test_working_settings_save_at_once_and_say_they_were_tested(
    app: Flask, provider: FlaskClient, request: pytest.FixtureRequest
) -> None:
    good, _bad, _answer = _mail(request)
    response = provider.post("/provider/settings/mail", data=good, follow_redirects=True)
    assert "Mail relay settings saved and tested." in response.get_data(as_text=True)
    assert _saved(app)["SMTP_HOST"] == good["SMTP_HOST"]


def test_the_test_button_records_a_failure_and_the_pages_warn(
    app: Flask, provider: FlaskClient, request: pytest.FixtureRequest
) -> None:
    good, _bad, _answer = _garage(request)
    assert provider.post("/provider/settings/garage", data=good).status_code == 302
    assert WARNING not in provider.get("/provider/settings/garage").get_data(as_text=True)
    request.getfixturevalue("garage").close()  # Garage went away since
    answer = provider.post("/provider/settings/garage/test").get_data(as_text=True)
    assert "is unreachable" in answer, answer
    last = _last_test(app, "garage")
    assert last is not None
    assert not last.ok
    assert WARNING in provider.get("/provider/settings/garage").get_data(as_text=True)
    assert 'data-state="failing"' in provider.get("/provider/settings").get_data(as_text=True)
    assert 'id="failing-settings"' in provider.get("/provider/operators").get_data(as_text=True)


def test_clearing_a_section_needs_no_confirmation_and_forgets_its_test(
    app: Flask, provider: FlaskClient
) -> None:
    saved = provider.post(
        "/provider/settings/mail",
        data={"SMTP_HOST": "smtp.provider.example", "SMTP_PORT": "2525", "save_anyway": "yes"},
    )
    assert saved.status_code == 302
    assert _last_test(app, "mail") is not None
    cleared = provider.post("/provider/settings/mail", data={"SMTP_HOST": "", "SMTP_PORT": ""})
    assert cleared.status_code == 302
    assert _last_test(app, "mail") is None
    assert "SMTP_HOST" not in _saved(app)
    assert 'id="failing-settings"' not in provider.get("/provider/operators").get_data(as_text=True)
