"""The DNS records of a deployment: which there are, their values, zones and conflicts."""

from __future__ import annotations

from typing import Any

import pytest

from fedipanel.core.configuration import Configuration
from fedipanel.core.configurator import desired_state
from fedipanel.core.dns_records import conflicts, refusal, values, zone_of
from fedipanel.core.registry import DEFAULT_SIZES
from fedipanel.core.resources import (
    DkimRecord,
    MailRecordPolicy,
    OperatorFacts,
    ProviderSettings,
    SmtpSettings,
)

KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMbI2pLgY7cpVVS7Hzx6T4nGtOazV2F1bLGdYmgS6d5Q op@laptop"
DKIM = DkimRecord("fedipanel._domainkey.acme.example", "v=DKIM1; k=rsa; p=MIIB")
CONFIG = Configuration.model_validate(
    {
        "domain": "acme.example",
        "admin": {"username": "alice", "email": "alice@acme.example"},
        "services": {"mastodon": {"enable": True}, "peertube": {"enable": True}},
    }
)


def records(
    smtp: SmtpSettings | None = None, dkim: DkimRecord | None = DKIM, **settings: Any
) -> dict[str, dict[str, Any]]:
    provider = ProviderSettings(
        sizes=DEFAULT_SIZES, acme_email="acme@provider.example", smtp=smtp, **settings
    )
    state = desired_state(CONFIG, OperatorFacts("acme", KEY, dkim=dkim), provider)
    return {r.name: dict(r.spec) for r in state.resources() if r.kind == "dns_record"}


def test_without_a_relay_only_addresses_and_caa_are_published() -> None:
    assert sorted(records()) == [
        "mastodon.acme.example",
        "mastodon.acme.example CAA",
        "peertube.acme.example",
        "peertube.acme.example CAA",
    ]


def test_with_a_relay_each_sending_host_gets_spf_and_dmarc_and_the_domain_its_dkim_key() -> None:
    found = records(SmtpSettings("smtp.provider.example"))
    assert found["fedipanel._domainkey.acme.example DKIM"]["value"] == DKIM.value
    assert found["mastodon.acme.example SPF"] == {
        "type": "TXT",
        "host": "mastodon.acme.example",
        "purpose": "SPF",
        "machine": "mastodon",
        "value": "v=spf1 {addresses} a:smtp.provider.example -all",
        "ttl": 300,
    }
    assert found["_dmarc.peertube.acme.example DMARC"]["value"] == (
        "v=DMARC1; p=quarantine; rua=mailto:alice@acme.example"
    )


def test_the_providers_include_and_policy_shape_spf_and_dmarc() -> None:
    policy = MailRecordPolicy(spf_include="_spf.provider.example", dmarc_policy="reject")
    found = records(SmtpSettings("smtp.provider.example"), mail_records=policy)
    assert found["mastodon.acme.example SPF"]["value"] == (
        "v=spf1 {addresses} include:_spf.provider.example -all"
    )
    assert "p=reject;" in found["_dmarc.mastodon.acme.example DMARC"]["value"]


def test_a_provider_sending_domain_leaves_only_the_dkim_key_to_publish() -> None:
    found = records(SmtpSettings("smtp.provider.example", from_domain="mail.provider.example"))
    mail = sorted(name for name in found if " " in name and not name.endswith("CAA"))
    assert mail == ["fedipanel._domainkey.acme.example DKIM"]


def test_a_key_not_generated_yet_is_shown_as_generated_at_deployment() -> None:
    pending = DkimRecord("fedipanel._domainkey.acme.example", None)
    found = records(SmtpSettings("smtp.provider.example"), dkim=pending)
    assert found["fedipanel._domainkey.acme.example DKIM"]["value"] == "generated at deployment"


def test_values_fill_in_the_machines_addresses() -> None:
    address = {"type": "A/AAAA", "machine": "m"}
    assert values(address, ["2001:db8::1", "192.0.2.7"]) == {
        "A": ["192.0.2.7"],
        "AAAA": ["2001:db8::1"],
    }
    spf = {"type": "TXT", "value": "v=spf1 {addresses} a:relay.example -all"}
    assert values(spf, ["192.0.2.7", "2001:db8::1"]) == {
        "TXT": ["v=spf1 ip4:192.0.2.7 ip6:2001:db8::1 a:relay.example -all"]
    }
    assert values({"type": "CAA", "value": "0 issue x"}, []) == {"CAA": ["0 issue x"]}


@pytest.mark.parametrize(
    ("rtype", "ours", "found", "clash"),
    [
        ("A", ["192.0.2.1"], ["192.0.2.1"], []),
        ("A", ["192.0.2.1"], ["192.0.2.1", "203.0.113.5"], ["203.0.113.5"]),
        ("TXT", ["v=spf1 -all"], ["google-site-verification=x"], []),
        ("TXT", ["v=spf1 -all"], ["v=spf1 mx -all"], ["v=spf1 mx -all"]),
        ("TXT", ["v=DMARC1; p=none"], ["v=spf1 mx -all"], []),
        ("CAA", ['0 issue "letsencrypt.org"'], ['0 iodef "mailto:x@y.example"'], []),
    ],
)
def test_only_records_that_cannot_stand_beside_ours_conflict(
    rtype: str, ours: list[str], found: list[str], clash: list[str]
) -> None:
    assert conflicts(rtype, ours, found) == clash


def test_the_most_specific_zone_holds_a_name() -> None:
    zones = ["provider.example", "acme.provider.example"]
    assert zone_of("mastodon.acme.provider.example", zones) == "acme.provider.example"
    assert zone_of("other.provider.example.", zones) == "provider.example"
    assert zone_of("provider.example", zones) == "provider.example"
    assert zone_of("notprovider.example", zones) is None


def test_a_domain_outside_the_zones_is_refused_with_the_delegation_to_make() -> None:
    message = refusal(
        "acme.example", ["mastodon.acme.example"], ["provider.example"], "ns1.provider.example"
    )
    assert message is not None
    assert "acme.example is in no zone" in message
    assert '"acme.example. NS ns1.provider.example."' in message
    assert "yourname.provider.example" in message
    assert (
        refusal("a.provider.example", ["x.a.provider.example"], ["provider.example"], "n") is None
    )
