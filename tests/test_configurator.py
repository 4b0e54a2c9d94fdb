"""The configurator turns a configuration and provider settings into desired resources."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fedipanel.core import registry
from fedipanel.core.buckets import buckets_for, is_valid_bucket_name
from fedipanel.core.configuration import Configuration
from fedipanel.core.configurator import DesiredState, desired_state
from fedipanel.core.document import Host, deployment_document
from fedipanel.core.registry import DEFAULT_SIZES, SERVICE_NAMES
from fedipanel.core.resources import (
    KINDS,
    MachineSize,
    OperatorFacts,
    ProviderSettings,
    S3Settings,
    SmtpSettings,
)

KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMbI2pLgY7cpVVS7Hzx6T4nGtOazV2F1bLGdYmgS6d5Q op@laptop"
SERVICES = SERVICE_NAMES
SMTP = SmtpSettings(host="smtp.provider.example", port=587, user="relay")
S3 = S3Settings(endpoint="https://s3.provider.example", public_url="https://media.provider.example")
ALLOWED_SECRET_KEYS = {"extraEnvFiles", "serviceEnvironmentFile", "secretFile", "secrets"}
# Postfix lookup tables named by path: `type:/path`.
ALLOWED_SECRET_MAPS = {"smtp_sasl_password_maps"}


def make_config(*services: str, **subdomains: str) -> Configuration:
    return Configuration.model_validate(
        {
            "domain": "acme.example",
            "admin": {"username": "alice", "email": "alice@acme.example"},
            "services": {s: {"enable": True, "subdomain": subdomains.get(s)} for s in services},
        }
    )


def make_settings(**overrides: Any) -> ProviderSettings:
    values: dict[str, Any] = {"sizes": DEFAULT_SIZES, "acme_email": "acme@provider.example"}
    return ProviderSettings(**(values | overrides))


def make_state(*services: str, slug: str = "acme", **overrides: Any) -> DesiredState:
    return desired_state(
        make_config(*services), OperatorFacts(slug, KEY), make_settings(**overrides)
    )


def by_kind(state: DesiredState, kind: str) -> dict[str, dict[str, Any]]:
    return {r.name: dict(r.spec) for r in state.resources() if r.kind == kind}


def walk(value: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    if isinstance(value, dict):
        for k, v in value.items():
            yield from walk(v, (*path, k))
    elif isinstance(value, list):
        for v in value:
            yield from walk(v, path)
    else:
        yield path, value


COMBOS = [list(c) for n in range(4) for c in itertools.combinations(SERVICES, n)]


@pytest.mark.parametrize("services", COMBOS, ids=lambda s: "+".join(s) or "none")
def test_one_machine_per_enabled_service(services: list[str]) -> None:
    state = make_state(*services)
    assert list(state.machines) == services
    assert sorted(by_kind(state, "machine")) == sorted(services)
    assert sorted(by_kind(state, "nixos")) == sorted(services)


def test_machine_sizes_come_from_provider_settings() -> None:
    sizes = dict(DEFAULT_SIZES) | {"peertube": MachineSize(cores=8, memory_mib=16384, disk_gib=200)}
    machines = by_kind(make_state("mastodon", "peertube", sizes=sizes), "machine")
    assert machines["peertube"] == {
        "service": "peertube",
        "cores": 8,
        "memory_mib": 16384,
        "disk_gib": 200,
    }
    assert machines["mastodon"]["cores"] == DEFAULT_SIZES["mastodon"].cores


def test_dns_records_name_each_service_host() -> None:
    config = make_config("mastodon", "pixelfed", pixelfed="photos")
    state = desired_state(config, OperatorFacts("acme", KEY), make_settings(dns_ttl=60))
    caa = '0 issue "letsencrypt.org"'
    assert by_kind(state, "dns_record") == {
        "mastodon.acme.example": {
            "type": "A/AAAA",
            "host": "mastodon.acme.example",
            "machine": "mastodon",
            "ttl": 60,
        },
        "mastodon.acme.example CAA": {
            "type": "CAA",
            "host": "mastodon.acme.example",
            "machine": "mastodon",
            "value": caa,
            "ttl": 60,
        },
        "photos.acme.example": {
            "type": "A/AAAA",
            "host": "photos.acme.example",
            "machine": "pixelfed",
            "ttl": 60,
        },
        "photos.acme.example CAA": {
            "type": "CAA",
            "host": "photos.acme.example",
            "machine": "pixelfed",
            "value": caa,
            "ttl": 60,
        },
    }
    networking = state.machines["pixelfed"].nixos["networking"]
    assert (networking["hostName"], networking["domain"]) == ("photos", "acme.example")
    assert state.machines["pixelfed"].fqdn == "photos.acme.example"


@pytest.mark.parametrize(("service", "count"), [("mastodon", 1), ("pixelfed", 1), ("peertube", 4)])
def test_each_service_gets_its_buckets_and_one_key(service: str, count: int) -> None:
    state = make_state(service)
    buckets = by_kind(state, "s3_bucket")
    assert len(buckets) == count
    assert all(spec["service"] == service for spec in buckets.values())
    assert by_kind(state, "s3_key") == {
        f"acme-{service}": {"service": service, "buckets": list(buckets)}
    }


def test_peertube_keeps_exports_and_originals_private() -> None:
    buckets = by_kind(make_state("peertube"), "s3_bucket")
    assert {name: spec["public_read"] for name, spec in buckets.items()} == {
        "acme-peertube-playlists": True,
        "acme-peertube-videos": True,
        "acme-peertube-exports": False,
        "acme-peertube-originals": False,
    }


@given(st.from_regex(r"[a-z0-9]([a-z0-9-]{0,120}[a-z0-9])?", fullmatch=True))
def test_bucket_names_are_valid_and_distinct_for_any_slug(slug: str) -> None:
    names = [b.name for s in SERVICES for b in buckets_for(slug, s, registry.service(s).buckets)]
    assert all(is_valid_bucket_name(n) for n in names), names
    assert len(set(names)) == len(names)


def test_ssh_key_is_the_operators_and_reaches_root() -> None:
    state = make_state("mastodon")
    assert by_kind(state, "ssh_key") == {"deploy": {"public_key": KEY}}
    users = state.machines["mastodon"].nixos["users"]["users"]
    assert users["root"]["openssh"]["authorizedKeys"]["keys"] == [KEY]


def test_mail_resources_only_with_an_smtp_relay() -> None:
    assert by_kind(make_state(*SERVICES), "mail") == {}
    mail = by_kind(make_state(*SERVICES, smtp=SMTP), "mail")
    assert mail["mastodon"] == {
        "host": "smtp.provider.example",
        "port": 587,
        "from_address": "notifications@mastodon.acme.example",
        "dkim": "fedipanel._domainkey.acme.example",
    }
    assert sorted(mail) == sorted(SERVICES)


def test_sender_uses_the_providers_mail_domain_when_set() -> None:
    smtp = SmtpSettings(host="smtp.provider.example", from_domain="mail.provider.example")
    state = make_state("mastodon", smtp=smtp)
    assert (
        by_kind(state, "mail")["mastodon"]["from_address"] == "acme-mastodon@mail.provider.example"
    )
    assert state.machines["mastodon"].nixos["services"]["mastodon"]["smtp"] == {
        "fromAddress": "acme-mastodon@mail.provider.example",
        "createLocally": False,
        "host": "127.0.0.1",
        "port": 25,
        "authenticate": False,
    }


def test_mastodon_has_a_sender_even_without_smtp() -> None:
    smtp = make_state("mastodon").machines["mastodon"].nixos["services"]["mastodon"]["smtp"]
    assert smtp == {"fromAddress": "notifications@mastodon.acme.example"}


def test_resources_come_in_kinds_order_and_are_json() -> None:
    resources = make_state(*SERVICES, smtp=SMTP, s3=S3).resources()
    ranks = [KINDS.index(r.kind) for r in resources]
    assert ranks == sorted(ranks)
    assert {r.kind for r in resources} == set(KINDS)
    json.dumps([r.spec for r in resources])


def test_same_input_gives_the_same_nixos_hash() -> None:
    first = by_kind(make_state(*SERVICES, s3=S3), "nixos")
    second = by_kind(make_state(*SERVICES, s3=S3), "nixos")
    assert first == second
    assert first != by_kind(make_state(*SERVICES), "nixos")


@pytest.mark.parametrize("s3", [None, S3])
@pytest.mark.parametrize("smtp", [None, SMTP])
def test_no_secret_looking_key_or_value_anywhere(smtp: SmtpSettings | None, s3: Any) -> None:
    state = make_state(*SERVICES, smtp=smtp, s3=s3)
    hosts = {name: Host(f"192.0.2.{i}") for i, name in enumerate(state.machines, 10)}
    document = deployment_document("acme", 1, state, hosts)
    values = [r.spec for r in state.resources()] + [document]
    for path, value in walk(values):
        for key in path:
            if "password" in key.lower() or "secret" in key.lower():
                assert key.endswith("File") or key in ALLOWED_SECRET_KEYS | ALLOWED_SECRET_MAPS
        if any(k.endswith("File") or k in ALLOWED_SECRET_KEYS for k in path):
            assert str(value).startswith("/var/lib/fedipanel/"), path
        if path[-1] in ALLOWED_SECRET_MAPS:
            assert str(value).startswith("texthash:/var/lib/fedipanel/keys/"), path
        text = str(value)
        assert not text.startswith(("AKIA", "GK", "-----BEGIN")), path
        assert "PRIVATE KEY" not in text, path


def test_s3_env_files_and_secret_paths_are_fixed() -> None:
    nixos = make_state(*SERVICES, smtp=SMTP, s3=S3).machines
    services = {name: m.nixos["services"][name] for name, m in nixos.items()}
    assert services["mastodon"]["extraEnvFiles"] == ["/var/lib/fedipanel/keys/mastodon-s3.env"]
    postfix = nixos["mastodon"].nixos["services"]["postfix"]["settings"]["main"]
    assert postfix["smtp_sasl_password_maps"] == (
        "texthash:/var/lib/fedipanel/keys/smtp-sasl-passwords"
    )
    assert services["pixelfed"]["secretFile"] == "/var/lib/fedipanel/secrets/pixelfed.env"
    assert services["peertube"]["secrets"] == {
        "secretsFile": "/var/lib/fedipanel/secrets/peertube-secrets"
    }
    assert (
        services["peertube"]["serviceEnvironmentFile"] == "/var/lib/fedipanel/secrets/peertube.env"
    )


@pytest.mark.parametrize(
    ("slug", "key", "s3", "message"),
    [
        ("Acme", KEY, None, "slug"),
        ("acme", "-----BEGIN OPENSSH PRIVATE KEY-----", None, "SSH key"),
        ("acme", KEY + "\nssh-rsa AAAA second", None, "SSH key"),
        ("acme", KEY, S3Settings(endpoint="https://GK1:hunter2@s3.example"), "credentials"),
    ],
)
def test_unsafe_inputs_are_refused(slug: str, key: str, s3: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        desired_state(make_config("mastodon"), OperatorFacts(slug, key), make_settings(s3=s3))


def test_deployment_document_matches_the_design() -> None:
    state = make_state("mastodon", "peertube")
    hosts = {"mastodon": Host("192.0.2.10"), "peertube": Host("192.0.2.11", host_public_key="k")}
    document = deployment_document("acme", 3, state, hosts)
    assert json.loads(json.dumps(document)) == document
    assert list(document) == ["format", "deployment", "generation", "machines"]
    assert document["format"] == "fedipanel.deployment/1"
    assert (document["deployment"], document["generation"]) == ("acme", 3)
    mastodon = document["machines"]["mastodon"]
    assert list(mastodon) == ["ssh", "nixos"]
    assert mastodon["ssh"] == {"host": "192.0.2.10", "user": "root", "hostPublicKey": None}
    assert document["machines"]["peertube"]["ssh"]["hostPublicKey"] == "k"
    nixos = mastodon["nixos"]
    assert nixos["networking"]["hostName"] == "mastodon"
    assert nixos["networking"]["domain"] == "acme.example"
    assert nixos["services"]["mastodon"]["enable"] is True
    assert nixos["services"]["mastodon"]["localDomain"] == "mastodon.acme.example"
    assert nixos["system"] == {"stateVersion": "25.05"}


def test_deployment_document_needs_a_host_for_every_machine() -> None:
    state = make_state("mastodon", "pixelfed")
    with pytest.raises(ValueError, match="pixelfed"):
        deployment_document("acme", 1, state, {"mastodon": Host("192.0.2.10")})
