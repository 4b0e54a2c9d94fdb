"""Provider pages for Proxmox settings, quotas and the VM pool; the set-quota command."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from fedipanel.db import db
from fedipanel.machines.quota import quota_of
from fedipanel.provider_settings.models import ProviderSetting
from tests.fakes.proxmox import TOKEN_SECRET, FakeProxmox
from tests.helpers import (
    Api,
    Auth,
    Factory,
    sample_config,
)
from tests.plugins.proxmox import ADDRESSES

# Starts programs of its own (sshd, nix, nixops4's fake): not in `make test-fast`.
pytestmark = pytest.mark.external

HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINMP6UCyOu+em0Shu0e46LrQa7mNEAZR6zqzI0nz7Hh9"


@pytest.fixture
def provider(client: FlaskClient, auth: Auth, factory: Factory) -> FlaskClient:
    factory.provider()
    auth.login("admin@provider.example")
    return client


def _save(provider: FlaskClient, values: dict[str, Any]) -> Any:
    return provider.post("/provider/settings/proxmox", data={**values, "save_anyway": "yes"})


def test_proxmox_settings_are_saved_the_secret_encrypted_and_never_shown_again(
    app: Flask,
    provider: FlaskClient,
    fake_pve: FakeProxmox,
) -> None:
    response = _save(provider, fake_pve.settings(VM_ADDRESSES=ADDRESSES))
    assert response.status_code == 302
    page = provider.get("/provider/settings/proxmox").get_data(as_text=True)
    assert TOKEN_SECRET not in page
    assert fake_pve.url in page
    with app.app_context():
        stored = db.session.get(ProviderSetting, "PROXMOX_TOKEN_SECRET")
        assert stored is not None
        assert stored.is_secret
        assert TOKEN_SECRET not in stored.value
    result = provider.post("/provider/settings/proxmox/test").get_data(as_text=True)
    assert "Proxmox: connection works." in result


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"PROXMOX_TOKEN_SECRET": "wrong-secret"}, "Bad token"),
        ({"PROXMOX_NODES": "pve9"}, "Unknown node &#39;pve9&#39;"),
        ({"PROXMOX_TEMPLATE": "9001"}, "Unknown template: VM 9001 does not exist."),
        ({"PROXMOX_STORAGE": "ceph"}, "Unknown storage &#39;ceph&#39;"),
        ({"PROXMOX_VERIFY": "true"}, "TLS failure talking to Proxmox"),
    ],
)
def test_test_connection_says_what_is_wrong(
    provider: FlaskClient,
    fake_pve: FakeProxmox,
    change: dict[str, str],
    message: str,
) -> None:
    assert _save(provider, fake_pve.settings(VM_ADDRESSES=ADDRESSES, **change)).status_code == 302
    result = provider.post("/provider/settings/proxmox/test").get_data(as_text=True)
    assert "Proxmox: not working." in result
    assert message in result
    assert TOKEN_SECRET not in result


def test_invalid_proxmox_values_are_refused_at_the_field(provider: FlaskClient) -> None:
    response = _save(
        provider,
        {
            "PROXMOX_URL": "http://pve:8006",
            "PROXMOX_TOKEN_ID": "root",
            "PROXMOX_TEMPLATE": "12",
            "VM_ADDRESSES": "192.0.2.10-192.0.2.99",
        },
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "must look like https://host:8006" in page
    assert "must look like user@realm!tokenid" in page
    assert "must be a VMID" in page
    assert "a range with its prefix" in page


def test_provider_sets_a_quota_on_the_page_and_operator_sees_it_in_the_plan(
    app: Flask, provider: FlaskClient, factory: Factory, auth: Auth
) -> None:
    operator_id = factory.operator("op@acme.example", slug="acme")
    page = provider.get("/provider/quotas").get_data(as_text=True)
    assert "op@acme.example" in page
    bad = provider.post(f"/provider/quotas/{operator_id}", data={"vms": "two"})
    assert bad.status_code == 422
    saved = provider.post(f"/provider/quotas/{operator_id}", data={"vms": "1", "cores": "8"})
    assert saved.status_code == 302
    with app.app_context():
        assert quota_of(operator_id).vms == 1
        assert quota_of(operator_id).memory_mib is None
    Api(provider, factory.token(operator_id)).put("/configuration", sample_config())
    auth.logout()
    auth.login("op@acme.example")
    plan = provider.get("/plan").get_data(as_text=True)
    assert "2 VMs needed, quota 1" in plan
    assert 'id="deploy"' not in plan


def test_set_quota_command(app: Flask, factory: Factory) -> None:
    operator_id = factory.operator("op@acme.example", slug="acme")
    runner = app.test_cli_runner()
    result = runner.invoke(
        args=[
            "fedipanel",
            "set-quota",
            "--email",
            "op@acme.example",
            "--vms",
            "3",
            "--cores",
            "8",
            "--memory-mib",
            "16384",
            "--disk-gib",
            "200",
        ]
    )
    assert result.exit_code == 0, result.output
    assert "3 VMs, 8 vCPUs, 16384 MiB memory, 200 GiB disk" in result.output
    with app.app_context():
        quota = quota_of(operator_id)
        assert (quota.vms, quota.cores, quota.memory_mib, quota.disk_gib) == (3, 8, 16384, 200)
    missing = runner.invoke(args=["fedipanel", "set-quota", "--email", "x@y.example"])
    assert missing.exit_code != 0
    assert "no operator account" in missing.output
