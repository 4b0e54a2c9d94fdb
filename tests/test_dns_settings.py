"""The DNS section of the provider's settings: checked values, a secret never shown again, and a
connection test against a real BIND9 that says what is wrong."""

from __future__ import annotations

import html
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from fedipanel.db import db
from fedipanel.provider_settings.models import ProviderSetting
from fedipanel.providers.dns import settings as dns_settings
from fedipanel.settings import effective
from tests.helpers import Api, Auth, Factory, sample_config
from tests.plugins.bind import BindServer

SECRET = "c2VjcmV0LWtleS1mb3ItdGVzdHMtb25seS0xMjM0NQ=="
# No DNS server answers there: saving it takes the provider's confirmation.
FORM = {
    "save_anyway": "yes",
    "DNS_SERVER": "ns1.provider.example",
    "DNS_PORT": "5353",
    "DNS_TSIG_NAME": "fedipanel",
    "DNS_TSIG_ALGORITHM": "hmac-sha256",
    "DNS_TSIG_SECRET": SECRET,
    "DNS_ZONES": "provider.example, acme.example",
    "SPF_INCLUDE": "_spf.provider.example",
    "DMARC_POLICY": "reject",
}


@pytest.fixture
def provider(client: FlaskClient, auth: Auth, factory: Factory) -> FlaskClient:
    factory.provider()
    auth.login("admin@provider.example")
    return client


def test_provider_saves_dns_settings_and_the_secret_is_encrypted_and_never_shown(
    app: Flask, provider: FlaskClient
) -> None:
    assert provider.post("/provider/settings/dns", data=FORM).status_code == 302
    page = provider.get("/provider/settings/dns").get_data(as_text=True)
    assert 'value="ns1.provider.example"' in page
    assert SECRET not in page
    with app.app_context():
        stored = db.session.get(ProviderSetting, "DNS_TSIG_SECRET")
        assert stored is not None
        assert stored.is_secret
        assert SECRET not in stored.value
        settings = effective.current()
        assert settings.dns is not None
        assert settings.dns.zones == ("provider.example", "acme.example")
        assert settings.dns.connection.port == 5353
        assert SECRET not in repr(settings.dns)
        assert settings.mail_records.spf_include == "_spf.provider.example"
        assert settings.mail_records.dmarc_policy == "reject"


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("DNS_SERVER", "ns1 provider", "must be an IP address or a host name"),
        ("DNS_PORT", "70000", "must be a port number between 1 and 65535"),
        ("DNS_TSIG_SECRET", "not base64!", "must be the key's secret in base64"),
        ("DNS_TSIG_ALGORITHM", "hmac-md5", "must be one of hmac-sha256"),
        ("DNS_TSIG_NAME", "bad key", "must be a DNS name such as fedipanel"),
        ("DNS_ZONES", "provider.example, Bad_Zone", "'Bad_Zone' is not a zone name"),
        ("SPF_INCLUDE", "include:x", "must be a DNS name such as _spf.provider.example"),
        ("DMARC_POLICY", "strict", "must be one of none, quarantine, reject"),
    ],
)
def test_a_bad_value_is_refused_at_its_field_and_nothing_saved(
    app: Flask, provider: FlaskClient, field: str, value: str, message: str
) -> None:
    response = provider.post("/provider/settings/dns", data={**FORM, field: value})
    assert response.status_code == 422
    assert message in html.unescape(response.get_data(as_text=True))
    with app.app_context():
        assert db.session.scalars(select(ProviderSetting)).all() == []


def test_a_server_without_its_key_and_zones_is_refused(provider: FlaskClient) -> None:
    response = provider.post("/provider/settings/dns", data={"DNS_SERVER": "ns1.example"})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "is needed with a DNS server (TSIG key name)" in page
    assert "is needed with a DNS server (Zones)" in page


@pytest.mark.parametrize("app_overrides", [{**FORM, "DMARC_POLICY": "strict"}])
def test_a_bad_policy_from_the_environment_stops_plans_with_its_name(
    app: Flask, operator_api: Api
) -> None:
    operator_api.put("/configuration", sample_config())
    response = operator_api.post("/plan")
    assert response.status_code == 422
    assert "FEDIPANEL_DMARC_POLICY must be one of" in response.get_json()["errors"][0]["msg"]


def test_connection_test_without_a_server_says_what_to_set() -> None:
    assert dns_settings.test_connection({}) == [
        "Not configured yet: set DNS server, TSIG key name, TSIG secret, Zones."
    ]


@pytest.mark.external
def test_connection_test_checks_each_zone_and_leaves_no_probe_behind(
    app: Flask, provider: FlaskClient, bind: BindServer
) -> None:
    form = {**bind.settings(), "DNS_ZONES": "acme.example, provider.example"}
    assert provider.post("/provider/settings/dns", data=form).status_code == 302
    before = bind.query("acme.example", "SOA")
    page = html.unescape(provider.post("/provider/settings/dns/test").get_data(as_text=True))
    assert "DNS: connection works." in page
    assert bind.txt("_fedipanel-probe.acme.example") == []
    assert bind.query("acme.example", "SOA") != before  # the probe was really written


@pytest.mark.external
@pytest.mark.parametrize(
    ("change", "answer"),
    [
        ({"DNS_TSIG_SECRET": "d3Jvbmcgc2VjcmV0"}, "the secret is wrong (BADSIG)"),
        ({"DNS_TSIG_NAME": "stranger"}, "does not know the TSIG key 'stranger'"),
        ({"DNS_ZONES": "locked.example"}, "REFUSED: the key may not change this zone"),
        ({"DNS_ZONES": "unserved.example"}, "REFUSED: the server does not serve this zone"),
        ({"DNS_PORT": "1"}, "cannot reach the DNS server 127.0.0.1 port 1"),
    ],
    ids=["bad-secret", "unknown-key", "refused", "zone-not-served", "unreachable"],
)
def test_connection_test_says_what_is_wrong(
    provider: FlaskClient, bind: BindServer, change: dict[str, Any], answer: str
) -> None:
    assert (
        provider.post(
            "/provider/settings/dns", data={**bind.settings(**change), "save_anyway": "yes"}
        ).status_code
        == 302
    )
    page = html.unescape(provider.post("/provider/settings/dns/test").get_data(as_text=True))
    assert "DNS: not working." in page
    assert answer in page
    assert bind.secret not in page
