"""Real machines (fake Proxmox VMs answering SSH with a real sshd) receive the S3 secrets."""

from __future__ import annotations

import stat
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from tests.fakes.garage_admin import FakeGarage
from tests.fakes.proxmox import FakeProxmox
from tests.helpers import Api, sample_config, wait_for_jobs
from tests.plugins.garage import garage_settings
from tests.plugins.proxmox import panel_settings

# Starts programs of its own (sshd, nix, nixops4's fake): not in `make test-fast`.
pytestmark = pytest.mark.external


@pytest.fixture
def keys_dir(tmp_path: Path) -> Path:
    return tmp_path / "keys"


@pytest.fixture
def app_overrides(
    fake_pve: FakeProxmox,
    garage: FakeGarage,
    keys_dir: Path,
) -> dict[str, Any]:
    return {
        **panel_settings(fake_pve, keys_dir),
        **garage_settings(garage),
        "SMTP_HOST": "smtp.provider.example",
        "SMTP_USER": "relay",
        "SMTP_PASSWORD": "relay-password-123",
    }


def _deploy(app: Flask, api: Api) -> dict[str, Any]:
    # The domain confirms the deployments of these tests that delete data.
    response = api.post("/deployments", {"confirm": "acme.example"})
    assert response.status_code == 202, response.get_json()
    wait_for_jobs(app)
    return dict(api.get(f"/deployments/{response.get_json()['id']}").get_json())


def _only(service: str, **other: Any) -> dict[str, Any]:
    config = sample_config()
    config["services"] = {"mastodon": {"enable": False}, "pixelfed": {"enable": False}}
    config["services"]["peertube"] = {"enable": False}
    config["services"][service] = {"enable": True}
    config["services"].update(other)
    return config


def test_secrets_reach_the_machine_over_ssh_and_unused_ones_are_removed(
    app: Flask,
    operator_api: Api,
    garage: FakeGarage,
    keys_dir: Path,
) -> None:
    operator_api.put("/configuration", _only("mastodon"))
    result = _deploy(app, operator_api)
    assert result["status"] == "succeeded", result["error"]
    assert "secret delivery" not in result["simulated"]
    assert "S3 storage" not in result["simulated"]
    key = garage.key_named("acme-mastodon")
    assert key is not None
    env = keys_dir / "mastodon-s3.env"
    assert env.read_text() == f"AWS_ACCESS_KEY_ID={key.id}\nAWS_SECRET_ACCESS_KEY={key.secret}\n"
    passwords = (keys_dir / "smtp-sasl-passwords").read_text()
    assert passwords == "[smtp.provider.example]:587 relay:relay-password-123\n"
    assert (keys_dir / "dkim.private").read_text().startswith("-----BEGIN PRIVATE KEY-----")
    for path in keys_dir.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o400
        assert (path.stat().st_uid, path.stat().st_gid) == (0, 0)
    assert any(
        "secrets on mastodon: written dkim.private, mastodon-admin-password, mastodon-s3.env, "
        "smtp-sasl-passwords" in line
        for line in result["log"]
    )
    assert key.secret not in "\n".join(result["log"])

    again = _deploy(app, operator_api)
    assert again["status"] == "succeeded", again["error"]
    assert any(
        "unchanged dkim.private, mastodon-admin-password, mastodon-s3.env, smtp-sasl-passwords"
        in line
        for line in again["log"]
    )

    # The fake's VMs all are this machine, so the new machine's delivery sees Mastodon's file.
    operator_api.put("/configuration", _only("pixelfed", mastodon={"enable": False}))
    third = _deploy(app, operator_api)
    assert third["status"] == "succeeded", third["error"]
    assert sorted(p.name for p in keys_dir.iterdir()) == [
        "dkim.private",
        "pixelfed-admin-password",
        "pixelfed-s3.env",
        "smtp-sasl-passwords",
    ]
    assert any("removed mastodon-admin-password, mastodon-s3.env" in line for line in third["log"])
