"""The operator configuration accepts what the services accept and explains what it refuses."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from fedipanel.core.configuration import Configuration, error_list, json_schema
from fedipanel.core.validators import RESERVED_USERNAMES, check_domain, check_username

DOCS = Path(__file__).parents[1] / "docs"
LABEL = r"[a-z0-9]([a-z0-9-]{0,18}[a-z0-9])?"

labels = st.from_regex(LABEL, fullmatch=True)
domains = st.builds(
    lambda parts, tld: ".".join([*parts, tld]),
    st.lists(labels, min_size=1, max_size=4),
    st.from_regex(r"[a-z]{2,12}", fullmatch=True),
)
usernames = st.from_regex(r"[a-z][a-z0-9_]{0,29}", fullmatch=True).filter(
    lambda u: u not in RESERVED_USERNAMES
)


def config(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "domain": "acme.example",
        "admin": {"username": "alice", "email": "alice@acme.example"},
        "services": {"mastodon": {"enable": True}},
    }
    return base | changes


def errors_of(data: dict[str, Any]) -> list[dict[str, Any]]:
    with pytest.raises(ValidationError) as info:
        Configuration.model_validate(data)
    return error_list(info.value)


@given(domains)
def test_generated_domains_are_accepted_unchanged(domain: str) -> None:
    assert Configuration.model_validate(config(domain=domain)).domain == domain


@given(domains)
def test_trailing_dot_and_spaces_are_removed(domain: str) -> None:
    assert check_domain(f"  {domain}. ") == domain


@given(st.text(max_size=40))
def test_any_accepted_domain_is_lowercase_labels_with_a_letter_tld(text: str) -> None:
    try:
        domain = check_domain(text)
    except ValueError:
        return
    parts = domain.split(".")
    assert len(parts) >= 2
    assert all(re.fullmatch(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?", p) for p in parts)
    assert parts[-1].isalpha()


@pytest.mark.parametrize(
    "domain",
    [
        "localhost",
        "Acme.example",
        "acme..example",
        "-acme.example",
        "acme-.example",
        "ac_me.example",
        "acme.123",
        "acme.ex ample",
        "a" * 64 + ".example",
        ".".join(["abcdefghij"] * 19) + ".example",
    ],
)
def test_invalid_domains_are_refused_on_the_domain_field(domain: str) -> None:
    assert [e["loc"] for e in errors_of(config(domain=domain))] == [["domain"]]


@given(usernames)
def test_generated_usernames_are_accepted(username: str) -> None:
    assert check_username(username) == username


@given(st.text(max_size=35))
def test_usernames_follow_the_rule_all_services_share(text: str) -> None:
    expected = bool(re.fullmatch(r"[a-z][a-z0-9_]{0,29}", text)) and text not in RESERVED_USERNAMES
    try:
        check_username(text)
    except ValueError:
        assert not expected
    else:
        assert expected


@pytest.mark.parametrize("username", [*sorted(RESERVED_USERNAMES), "Alice", "1alice", "a" * 31])
def test_invalid_or_reserved_usernames_are_refused(username: str) -> None:
    errors = errors_of(config(admin={"username": username, "email": "alice@acme.example"}))
    assert [e["loc"] for e in errors] == [["admin", "username"]]


@pytest.mark.parametrize("email", ["alice@acme.example", "a.b+c@mail.acme.example"])
def test_valid_emails_are_accepted(email: str) -> None:
    data = config(admin={"username": "alice", "email": email})
    assert Configuration.model_validate(data).admin.email == email


@pytest.mark.parametrize("value", [" x@y.io ", "acme.example.", " acme.example"])
def test_the_configuration_takes_values_exactly_forms_tidy_them(value: str) -> None:
    field = "email" if "@" in value else "domain"
    data = (
        config(admin={"username": "alice", "email": value})
        if field == "email"
        else config(domain=value)
    )
    with pytest.raises(ValidationError, match="spaces around it"):
        Configuration.model_validate(data)


@pytest.mark.parametrize(
    "email", ["alice", "alice@", "@acme.example", "alice@acme", "al ice@acme.example", "a@b.c1"]
)
def test_invalid_emails_are_refused(email: str) -> None:
    errors = errors_of(config(admin={"username": "alice", "email": email}))
    assert [e["loc"] for e in errors] == [["admin", "email"]]


@pytest.mark.parametrize("subdomain", ["social", "s", "my-photos", "v2"])
def test_valid_subdomains_name_the_service_host(subdomain: str) -> None:
    data = config(services={"pixelfed": {"enable": True, "subdomain": subdomain}})
    assert Configuration.model_validate(data).fqdn("pixelfed") == f"{subdomain}.acme.example"


@pytest.mark.parametrize("subdomain", ["", "-x", "x-", "a.b", "Social", "a" * 64, "pho_tos"])
def test_invalid_subdomains_are_refused_on_their_field(subdomain: str) -> None:
    errors = errors_of(config(services={"pixelfed": {"enable": True, "subdomain": subdomain}}))
    assert [e["loc"] for e in errors] == [["services", "pixelfed", "subdomain"]]


@pytest.mark.parametrize(
    "services",
    [
        {
            "mastodon": {"enable": True, "subdomain": "social"},
            "pixelfed": {"enable": True, "subdomain": "social"},
        },
        {"mastodon": {"enable": True}, "peertube": {"enable": True, "subdomain": "mastodon"}},
    ],
)
def test_enabled_services_cannot_share_a_subdomain(services: dict[str, Any]) -> None:
    errors = errors_of(config(services=services))
    assert errors[0]["loc"] == ["services"]
    assert "cannot share the subdomain" in errors[0]["msg"]


def test_a_disabled_service_may_reuse_a_subdomain() -> None:
    services = {"mastodon": {"enable": True}, "peertube": {"subdomain": "mastodon"}}
    assert Configuration.model_validate(config(services=services)).enabled() == ["mastodon"]


@pytest.mark.parametrize(
    ("data", "loc"),
    [
        (config(version=3), ["version"]),
        (config(admin={"username": "alice", "email": "a@b.io", "role": "x"}), ["admin", "role"]),
        (config(services={"lemmy": {"enable": True}}), ["services", "lemmy"]),
        (config(services={"mastodon": {"enabeld": True}}), ["services", "mastodon", "enabeld"]),
    ],
)
def test_unknown_fields_are_refused(data: dict[str, Any], loc: list[str]) -> None:
    assert [e["loc"] for e in errors_of(data)] == [loc]


def test_json_schema_is_generated_from_the_models() -> None:
    schema = json_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["required"] == ["domain", "admin"]
    assert set(schema["properties"]) == {"domain", "admin", "services"}
    objects = [schema, *schema["$defs"].values()]
    assert all(o["additionalProperties"] is False for o in objects)
    assert json.loads(json.dumps(schema)) == schema


def _property_names(schema: dict[str, Any]) -> set[str]:
    names = set(schema.get("properties", {}))
    for sub in schema.get("$defs", {}).values():
        names |= _property_names(sub)
    return names


def test_example_configuration_validates() -> None:
    example = json.loads((DOCS / "example-configuration.json").read_text())
    validated = Configuration.model_validate(example)
    assert validated.enabled() == ["mastodon", "pixelfed", "peertube"]


def test_every_schema_property_is_documented() -> None:
    text = (DOCS / "configuration.md").read_text()
    missing = sorted(n for n in _property_names(json_schema()) if f"`{n}`" not in text)
    assert missing == []
