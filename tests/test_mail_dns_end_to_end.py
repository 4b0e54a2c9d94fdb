"""DNS and the relay together: the records a deployment publishes verify its signed mail."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import dkim
import pytest
from flask import Flask

from tests.helpers import Api, sample_config, wait_for_jobs
from tests.plugins.bind import BindServer
from tests.plugins.machines import LoopbackMachines
from tests.plugins.smtp import FakeRelay


@pytest.fixture
def app_overrides(
    bind: BindServer,
    smtp_relay: FakeRelay,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    loopback_machines: LoopbackMachines,
) -> dict[str, Any]:
    monkeypatch.setenv("FAKE_NIXOPS4_RECORD", str(tmp_path / "nixops4-record.json"))
    relay = smtp_relay.settings(SPF_INCLUDE="_spf.provider.example")
    return {**bind.settings(), **relay, **loopback_machines.settings()}


def test_published_dkim_spf_and_dmarc_verify_the_test_mail(
    app: Flask,
    operator_api: Api,
    bind: BindServer,
    smtp_relay: FakeRelay,
    loopback_machines: LoopbackMachines,
) -> None:
    loopback_machines.install(app)
    assert operator_api.put("/configuration", sample_config()).status_code == 200
    started = operator_api.post("/deployments", {})
    assert started.status_code == 202, started.get_json()
    wait_for_jobs(app)
    result = operator_api.get(f"/deployments/{started.get_json()['id']}").get_json()
    assert result["status"] == "succeeded", result["error"]

    (published,) = bind.txt("fedipanel._domainkey.acme.example")
    assert published.startswith("v=DKIM1; k=rsa; p=")
    spf = [t for t in bind.txt("mastodon.acme.example") if t.startswith("v=spf1")]
    assert len(spf) == 1
    assert "include:_spf.provider.example" in spf[0]
    assert spf[0].endswith("-all")
    (dmarc,) = bind.txt("_dmarc.mastodon.acme.example")
    assert dmarc == "v=DMARC1; p=quarantine; rua=mailto:alice@acme.example"

    sent = operator_api.post("/mail/test", {})
    assert sent.status_code == 200, sent.get_json()
    assert sent.get_json()["accepted"] is True
    (received,) = smtp_relay.messages
    # dkimpy asks the real DNS server for the key, as a receiving mail server would.
    assert dkim.verify(received.content, dnsfunc=bind.dkim_dns)
    tampered = received.content.replace(b"FediPanel", b"FediPane1", 1)
    assert tampered != received.content
    assert not dkim.verify(tampered, dnsfunc=bind.dkim_dns)
