"""Every kind of actor leaves its entries: operators and the provider, on pages and over the API,
and the command line. Each entry names who, the account concerned and the address."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner

from fedipanel.audit import log
from tests.helpers import PASSWORD, Api, Auth, Factory, sample_config, wait_for_jobs

HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINMP6UCyOu+em0Shu0e46LrQa7mNEAZR6zqzI0nz7Hh9"
BUCKET = {
    "endpoint": "https://s3.example",
    "region": "garage",
    "bucket": "acme-videos",
    "access_key_id": "GK1234567890",
    "secret": "bucket-secret-value",
}


def _entries(app: Flask) -> list[tuple[str, int | None, str | None, int | None, str | None]]:
    """Return (action, actor id, actor email, operator id, address), oldest first."""
    with app.app_context():
        return [
            (e.action, e.actor_id, e.actor_email, e.operator_id, e.address)
            for e in reversed(log.entries(1000))
        ]


def _secrets_absent(app: Flask, *secrets: str) -> None:
    with app.app_context():
        stored = str([(e.details, e.actor_email) for e in log.entries(1000)])
    for secret in secrets:
        assert secret not in stored


def test_an_operator_on_the_pages(app: Flask, client: FlaskClient, factory: Factory) -> None:
    operator_id = factory.operator("op@acme.example", slug="acme")
    auth = Auth(client)
    auth.login("op@acme.example", "not the password")
    auth.login("op@acme.example")
    form = {
        "domain": "acme.example",
        "admin.username": "alice",
        "admin.email": "alice@acme.example",
        "services.mastodon.enable": "on",
    }
    assert client.post("/configuration", data=form).status_code == 302
    assert client.post("/deployments").status_code == 302
    wait_for_jobs(app)
    page = client.post("/account/tokens", data={"name": "ci"}).get_data(as_text=True)
    token = re.search(r'id="new-token">([^<]+)<', page)
    assert token
    token_id = re.search(r"/account/tokens/(\d+)/revoke", page)
    assert token_id
    client.post(f"/account/tokens/{token_id.group(1)}/revoke", data={"confirm": "yes"})
    auth.logout()

    me = (operator_id, "op@acme.example")
    assert _entries(app) == [
        ("login.failed", None, "op@acme.example", operator_id, "127.0.0.1"),
        ("login", *me, operator_id, "127.0.0.1"),
        ("configuration.saved", *me, operator_id, "127.0.0.1"),
        ("deployment.started", *me, operator_id, "127.0.0.1"),
        ("deployment.finished", None, None, operator_id, None),  # recorded by the worker
        ("token.created", *me, operator_id, "127.0.0.1"),
        ("token.revoked", *me, operator_id, "127.0.0.1"),
        ("logout", *me, operator_id, "127.0.0.1"),
    ]
    _secrets_absent(app, PASSWORD, "not the password", token.group(1))


def test_an_operator_over_the_api(app: Flask, client: FlaskClient, factory: Factory) -> None:
    operator_id = factory.operator("op@acme.example", slug="acme")
    token = factory.token(operator_id)
    api = Api(client, token)
    api.put("/configuration", sample_config())
    api.post("/deployments")
    wait_for_jobs(app)
    me = (operator_id, "op@acme.example")
    assert _entries(app) == [
        ("configuration.saved", *me, operator_id, "127.0.0.1"),
        ("deployment.started", *me, operator_id, "127.0.0.1"),
        ("deployment.finished", None, None, operator_id, None),
    ]
    _secrets_absent(app, token)


def test_the_provider_on_the_pages(app: Flask, client: FlaskClient, factory: Factory) -> None:
    provider_id = factory.provider()
    Auth(client).login("admin@provider.example")
    created = client.post(
        "/provider/operators",
        data={"email": "op@acme.example", "slug": "acme", "password": PASSWORD},
    )
    assert created.status_code == 302
    operator_id = provider_id + 1
    client.post(f"/provider/quotas/{operator_id}", data={"vms": "3"})
    client.post(f"/provider/operators/{operator_id}/buckets/peertube", data=BUCKET)
    client.post(
        f"/provider/operators/{operator_id}/buckets/peertube/remove", data={"confirm": "yes"}
    )
    client.post("/provider/vm-pool", data={"address": "192.0.2.50", "host_key": HOST_KEY})
    client.post("/provider/vm-pool/1/delete", data={"confirm": "yes"})
    client.post(
        "/provider/settings/mail", data={"SMTP_HOST": "smtp.provider.example", "save_anyway": "yes"}
    )
    client.post(f"/provider/operators/{operator_id}/disable")
    client.post(f"/provider/operators/{operator_id}/enable")
    client.post(f"/provider/operators/{operator_id}/reset-password")

    me = (provider_id, "admin@provider.example")
    assert _entries(app) == [
        ("login", *me, None, "127.0.0.1"),
        ("operator.created", *me, operator_id, "127.0.0.1"),
        ("quota.changed", *me, operator_id, "127.0.0.1"),
        ("bucket.assigned", *me, operator_id, "127.0.0.1"),
        ("bucket.unassigned", *me, operator_id, "127.0.0.1"),
        ("pool_vm.added", *me, None, "127.0.0.1"),
        ("pool_vm.removed", *me, None, "127.0.0.1"),
        ("settings.changed", *me, None, "127.0.0.1"),
        ("operator.disabled", *me, operator_id, "127.0.0.1"),
        ("operator.enabled", *me, operator_id, "127.0.0.1"),
        ("password.reset", *me, operator_id, "127.0.0.1"),
    ]
    _secrets_absent(app, PASSWORD, BUCKET["secret"])


def test_the_provider_over_the_api(app: Flask, client: FlaskClient, factory: Factory) -> None:
    operator_id = factory.operator("op@acme.example", slug="acme")
    provider_id = factory.provider()
    api = Api(client, factory.token(provider_id))
    body = {
        "endpoint": BUCKET["endpoint"],
        "region": BUCKET["region"],
        "bucket": BUCKET["bucket"],
        "accessKeyId": BUCKET["access_key_id"],
        "secretAccessKey": BUCKET["secret"],
    }
    assert api.put(f"/operators/{operator_id}/buckets/peertube", body).status_code == 200
    client.delete(f"/api/v1/operators/{operator_id}/buckets/peertube", headers=api.headers)
    api.post(f"/operators/{operator_id}/disable")
    api.post(f"/operators/{operator_id}/enable")

    me = (provider_id, "admin@provider.example")
    assert _entries(app) == [
        ("bucket.assigned", *me, operator_id, "127.0.0.1"),
        ("bucket.unassigned", *me, operator_id, "127.0.0.1"),
        ("operator.disabled", *me, operator_id, "127.0.0.1"),
        ("operator.enabled", *me, operator_id, "127.0.0.1"),
    ]
    _secrets_absent(app, BUCKET["secret"])


def test_the_command_line(
    app: Flask, runner: FlaskCliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FEDIPANEL_PASSWORD", PASSWORD)
    email = ["--email", "op@shop.example"]
    commands = [
        ["create-user", *email, "--slug", "shop"],
        ["create-token", *email],
        ["set-quota", *email, "--vms", "2"],
        ["disable-operator", *email],
        ["enable-operator", *email],
        ["demo"],
    ]
    for args in commands:
        result = runner.invoke(args=["fedipanel", *args])
        assert result.exit_code == 0, result.output
    bucket = [
        "assign-bucket", *email, "--service", "peertube", "--endpoint", BUCKET["endpoint"],
        "--bucket", BUCKET["bucket"], "--access-key-id", BUCKET["access_key_id"],
    ]  # fmt: skip
    result = runner.invoke(args=["fedipanel", *bucket], input=BUCKET["secret"] + "\n")
    assert result.exit_code == 0, result.output

    cli = (None, "command line")
    assert _entries(app) == [
        ("operator.created", *cli, 1, None),
        ("token.created", *cli, 1, None),
        ("quota.changed", *cli, 1, None),
        ("operator.disabled", *cli, 1, None),
        ("operator.enabled", *cli, 1, None),
        ("operator.created", *cli, None, None),  # demo: the provider
        ("operator.created", *cli, 3, None),  # demo: the operator
        ("bucket.assigned", *cli, 1, None),
    ]
    _secrets_absent(app, PASSWORD, BUCKET["secret"])


def test_the_holder_of_a_reset_link(app: Flask, client: FlaskClient, factory: Factory) -> None:
    operator_id = factory.operator("op@acme.example", slug="acme")
    factory.provider()
    provider = app.test_client()
    Auth(provider).login("admin@provider.example")
    page = provider.post(f"/provider/operators/{operator_id}/reset-password")
    path = re.search(r'id="reset-link">http://localhost([^<]+)<', page.get_data(as_text=True))
    assert path
    new = "a much longer new passphrase"
    client.post(path.group(1), data={"password": new, "repeat": new})
    Auth(client).login("op@acme.example", "wrong password, disabled or not")
    assert _entries(app)[-2:] == [
        ("password.changed", operator_id, "op@acme.example", operator_id, "127.0.0.1"),
        ("login.failed", None, "op@acme.example", operator_id, "127.0.0.1"),
    ]
    _secrets_absent(app, new)
