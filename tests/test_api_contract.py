"""Schemathesis drives every API operation as an operator and as the provider.

Every operation gets schema-valid and schema-violating requests, and every built-in check runs on
each answer: no server error, every status and body as documented, valid data accepted and
invalid data refused. The only rules the document cannot state in JSON Schema (they depend on
stored data or compare two fields) are stated in words there and handled below.
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, assume, given, settings
from schemathesis import GenerationMode
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.checks import positive_data_acceptance

from tests.helpers import Factory, sample_config

EXAMPLES = 10
# Fields whose rule depends on stored data or the clock, which no schema can know (the document
# says so in words), by the loc prefix of the error they give, dotted: `confirm` must be the
# operator's domain; a bucket can serve only one of its services; a rollout's deadline comes
# after its notice period and its operators exist; a flake.lock's root names one of its nodes; the
# first directory needs its bind password; an admin password is revealed for your own password.
STATEFUL = {
    "DELETE /account": ["confirm"],
    "POST /deployments": ["confirm"],
    "PUT /operators/{operator}/buckets/{service}": ["bucket"],
    "POST /rollouts": ["deadline", "operators", "change.pin.flakeLock"],
    "PUT /identity": ["bindPassword"],
    "POST /identity/test": ["bindPassword"],
    "POST /services/{service}/admin-password": ["password"],
}


def stored_data_refuses(label: str, loc: list[str | int]) -> bool:
    """Whether an error at `loc` is one the operation's stored data or the clock may give."""
    return any(
        [str(part) for part in loc[: len(prefix)]] == prefix
        for prefix in (field.split(".") for field in STATEFUL[label])
    )


def accepted_unless_stored_data_refuses(ctx: Any, response: Any, case: Any) -> bool:
    """Valid data is accepted, except a 422 at fields that depend on stored data."""
    if response.status_code == 422:
        locs = [error["loc"] for error in response.json()["errors"]]
        refused = [loc for loc in locs if not stored_data_refuses(case.operation.label, loc)]
        assert locs, "a 422 names the field it refuses"
        assert not refused, f"schema-valid request refused: {locs}"
    return True


def shared_subdomain(case: Any) -> bool:
    """Whether two enabled services of a configuration body would share a subdomain."""
    body = case.body if isinstance(case.body, dict) else {}
    services = body.get("services")
    if case.operation.label != "PUT /configuration" or not isinstance(services, dict):
        return False
    hosts = [
        str(service.get("subdomain") or name)  # a negative case may hold a list there
        for name, service in services.items()
        if isinstance(service, dict) and service.get("enable") is True
    ]
    return len(hosts) != len(set(hosts))


def sends_nothing_for_a_query_value(case: Any) -> bool:
    """Whether a query value is an empty list or object: sent as nothing at all, so a negative
    case that relies on it (e.g. an unknown parameter) reaches the panel as a valid request."""
    return any(value in ([], {}) for value in (case.query or {}).values())


def run(operation: Any, mode: GenerationMode, headers: dict[str, str]) -> int:
    """Run one operation in one mode; return how many requests were sent."""
    sent = 0
    positive = mode == GenerationMode.POSITIVE
    stateful = positive and operation.label in STATEFUL

    @given(
        case=operation.as_strategy(generation_mode=mode).filter(
            lambda c: (
                not shared_subdomain(c) and (positive or not sends_nothing_for_a_query_value(c))
            )
        )
    )
    @settings(
        max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck)
    )
    def check(case: Any) -> None:
        nonlocal sent
        assume(not shared_subdomain(case))
        assume(positive or not sends_nothing_for_a_query_value(case))
        sent += 1
        case.call_and_validate(
            headers=headers,
            excluded_checks=[positive_data_acceptance] if stateful else None,
            additional_checks=[accepted_unless_stored_data_refuses] if stateful else None,
        )

    check()
    return sent


# About 25 s per role on an idle machine; the default timeout is for a single request's test.
@pytest.mark.timeout(600)
@pytest.mark.parametrize("role", ["operator", "provider"])
def test_api_answers_as_its_document_says(app: Flask, factory: Factory, role: str) -> None:
    operator = factory.operator("op@acme.example", slug="acme")
    user = operator if role == "operator" else factory.provider()
    headers = {"Authorization": f"Bearer {factory.token(user)}"}
    operator_headers = {"Authorization": f"Bearer {factory.token(operator)}"}
    saved = app.test_client().put(
        "/api/v1/configuration", json=sample_config(), headers=operator_headers
    )
    assert saved.status_code == 200
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    failures: list[str] = []
    sent = 0
    for result in schema.get_all_operations():
        assert isinstance(result, Ok)
        operation = result.ok()
        modes = [GenerationMode.POSITIVE]
        if operation.path_parameters or operation.query or operation.body:
            modes.append(GenerationMode.NEGATIVE)
        for mode in modes:
            try:
                sent += run(operation, mode, headers)
            except (Exception, BaseExceptionGroup) as exc:
                failures.append(f"{operation.label} {mode.value}: {exc}")
    assert not failures, "\n\n".join(failures)
    assert sent >= EXAMPLES * 10
