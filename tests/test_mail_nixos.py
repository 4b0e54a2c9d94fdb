"""Each machine's Postfix and OpenDKIM values: relay over TLS, sign for the operator's domain."""

from __future__ import annotations

from typing import Any

from fedipanel.core import mail
from fedipanel.core.configuration import Configuration
from fedipanel.core.configurator import desired_state
from fedipanel.core.registry import DEFAULT_SIZES, SERVICE_NAMES
from fedipanel.core.resources import OperatorFacts, ProviderSettings, SmtpSettings
from tests.test_nixos_options import KEY, Checker, checker

__all__ = ["checker"]  # the fixture, used by name

RELAY = SmtpSettings(host="smtp.provider.example", port=587, user="relay")


def _machines(smtp: SmtpSettings | None, selector: str = "fedipanel") -> dict[str, Any]:
    config = Configuration.model_validate(
        {
            "domain": "acme.example",
            "admin": {"username": "alice", "email": "alice@acme.example"},
            "services": {s: {"enable": True} for s in SERVICE_NAMES},
        }
    )
    settings = ProviderSettings(sizes=DEFAULT_SIZES, acme_email="acme@provider.example", smtp=smtp)
    facts = OperatorFacts("acme", KEY, dkim_selector=selector)
    state = desired_state(config, facts, settings)
    return {name: m.nixos["services"] for name, m in state.machines.items()}


def test_every_machine_relays_through_postfix_signed_by_opendkim() -> None:
    for name, services in _machines(RELAY, selector="s2").items():
        main = services["postfix"]["settings"]["main"]
        assert main["myhostname"] == f"{name}.acme.example"
        assert main["relayhost"] == ["[smtp.provider.example]:587"]
        assert main["inet_interfaces"] == "loopback-only"
        assert main["smtp_tls_security_level"] == "secure"
        assert main["smtp_sasl_auth_enable"] is True
        assert main["smtpd_milters"] == ["unix:/run/opendkim/opendkim.sock"]
        assert main["milter_default_action"] == "tempfail"
        assert "smtp_tls_wrappermode" not in main
        assert services["opendkim"] == {
            "enable": True,
            "selector": "s2",
            "domains": "csl:acme.example",
            "socket": mail.OPENDKIM_SOCKET,
        }


def test_services_send_to_the_local_postfix_without_credentials() -> None:
    machines = _machines(RELAY)
    assert machines["mastodon"]["mastodon"]["smtp"] == {
        "fromAddress": "notifications@mastodon.acme.example",
        "createLocally": False,
        "host": "127.0.0.1",
        "port": 25,
        "authenticate": False,
    }
    pixelfed = machines["pixelfed"]["pixelfed"]["settings"]
    assert (pixelfed["MAIL_HOST"], pixelfed["MAIL_PORT"]) == ("127.0.0.1", 25)
    assert "MAIL_USERNAME" not in pixelfed
    peertube = machines["peertube"]["peertube"]
    assert peertube["settings"]["smtp"]["hostname"] == "127.0.0.1"
    assert "username" not in peertube["settings"]["smtp"]
    assert "smtp" not in peertube


def test_no_relay_means_no_postfix_and_no_opendkim() -> None:
    for services in _machines(None).values():
        assert "postfix" not in services
        assert "opendkim" not in services


def test_smtps_relay_without_user_and_an_ipv6_relay() -> None:
    smtps = _machines(SmtpSettings(host="smtp.provider.example", port=465))
    main = smtps["mastodon"]["postfix"]["settings"]["main"]
    assert main["smtp_tls_wrappermode"] is True
    assert not any(key.startswith("smtp_sasl") for key in main)
    assert mail.relay_host(SmtpSettings(host="2001:db8::25", port=587)) == "[ipv6:2001:db8::25]:587"
    assert mail.relay_host(SmtpSettings(host="192.0.2.25", port=2525)) == "[192.0.2.25]:2525"


def test_password_map_names_the_relay_as_postfix_looks_it_up() -> None:
    assert mail.sasl_passwords(RELAY, "s3cret pw") == (
        "[smtp.provider.example]:587 relay:s3cret pw\n"
    )


def test_smtps_and_ipv6_values_fit_the_options(checker: Checker) -> None:
    for smtp in (SmtpSettings("smtp.provider.example", 465), SmtpSettings("2001:db8::25", 587)):
        for services in _machines(smtp).values():
            errors, _ = checker.check({"services": services})
            assert errors == []


def test_checker_rejects_a_main_cf_value_of_the_wrong_type(checker: Checker) -> None:
    services = _machines(RELAY)["mastodon"]
    services["postfix"]["settings"]["main"]["smtpd_milters"] = {"unix": "/run/x"}
    services["postfix"]["settings"]["main"]["smtp_tls_security_level"] = "mandatory"
    errors, _ = checker.check({"services": services})
    assert sorted(errors) == [
        "services.postfix.settings.main.smtp_tls_security_level: 'mandatory' is not a "
        'types.enum ["none" "may" "encrypt" "dane" "dane-only" "fingerprint" "verify" "secure"]',
        "services.postfix.settings.main.smtpd_milters: {'unix': '/run/x'} does not fit the "
        "freeform type",
    ]
