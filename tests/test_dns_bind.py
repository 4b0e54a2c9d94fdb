"""DNS records on a real BIND9: written through TSIG-signed RFC 2136 updates, read back, removed.

The machines are pool VMs on loopback sshd (127.0.12.10 onwards, `loopback_machines`) and
nixops4 is the fake one; the records are checked by asking BIND directly, and so is that
another writer's records survive.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from fedipanel.db import db
from fedipanel.keys import dkim
from fedipanel.keys.models import DkimKey
from fedipanel.resources.models import RecordedResource
from tests.helpers import Api, sample_config, wait_for_jobs
from tests.plugins.bind import BindServer
from tests.plugins.machines import LoopbackMachines

# Starts named of its own: not in `make test-fast`.
pytestmark = pytest.mark.external

RELAY = {
    "SMTP_HOST": "smtp.provider.example",
    "SMTP_USER": "fedipanel",
    "SMTP_PASSWORD": "relay-password",
}
FOREIGN_AT_ACME = {
    ("www.acme.example", "A"): ["203.0.113.80"],
    ("acme.example", "MX"): ["10 mail.provider.example."],
    ("acme.example", "TXT"): ['"v=spf1 mx -all"'],
}


@pytest.fixture
def record(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "nixops4-record.json"
    monkeypatch.setenv("FAKE_NIXOPS4_RECORD", str(path))
    return path


@pytest.fixture
def app_overrides(
    bind: BindServer, record: Path, loopback_machines: LoopbackMachines
) -> dict[str, Any]:
    return {**bind.settings(), **RELAY, **loopback_machines.settings(), "DNS_TTL": 600}


@pytest.fixture(autouse=True)
def _machines(app: Flask, operator_api: Api, loopback_machines: LoopbackMachines) -> None:
    loopback_machines.install(app)


def deploy(app: Flask, api: Api, config: dict[str, Any] | None = None) -> dict[str, Any]:
    if config is not None:
        response = api.put("/configuration", config)
        assert response.status_code == 200, response.get_json()
    response = api.post("/deployments", {"confirm": "acme.example"})
    assert response.status_code == 202, response.get_json()
    wait_for_jobs(app)
    return dict(api.get(f"/deployments/{response.get_json()['id']}").get_json())


def serial(bind: BindServer, zone: str = "acme.example") -> int:
    return int(bind.query(zone, "SOA")[0].split()[2])


def assert_foreign_records_survive(bind: BindServer) -> None:
    for (name, rdtype), values in FOREIGN_AT_ACME.items():
        assert bind.query(name, rdtype) == values
    assert "site-verification=abc123" in bind.txt("mastodon.acme.example")
    assert '0 iodef "mailto:security@acme.example"' in bind.query("mastodon.acme.example", "CAA")


def test_deploy_publishes_addresses_caa_and_mail_records_and_reads_them_back(
    app: Flask, operator_api: Api, bind: BindServer
) -> None:
    result = deploy(app, operator_api, sample_config())
    assert result["status"] == "succeeded", result["error"]
    assert "DNS records" not in result["simulated"]

    assert bind.query("mastodon.acme.example", "A") == ["127.0.12.10"]
    assert bind.query("peertube.acme.example", "A") == ["127.0.12.11"]
    assert bind.query("mastodon.acme.example", "AAAA") == []
    assert bind.ttl("mastodon.acme.example", "A") == 600
    for host in ("mastodon.acme.example", "peertube.acme.example"):
        assert '0 issue "letsencrypt.org"' in bind.query(host, "CAA")
        assert "v=DMARC1; p=quarantine; rua=mailto:alice@acme.example" in bind.txt(f"_dmarc.{host}")
    assert "v=spf1 ip4:127.0.12.10 a:smtp.provider.example -all" in bind.txt(
        "mastodon.acme.example"
    )
    with app.app_context():
        key = db.session.scalar(select(DkimKey))
        assert key is not None
        name, value = dkim.record_name(key), dkim.txt_value(key)
    assert name == "fedipanel._domainkey.acme.example"
    assert bind.txt(name) == [value]
    assert_foreign_records_survive(bind)
    log = "\n".join(result["log"])
    assert "A mastodon.acme.example 127.0.12.10 (written, read back)" in log
    assert "TXT fedipanel._domainkey.acme.example v=DKIM1; k=rsa; p=" in log
    assert "[simulated] A " not in log


def test_a_second_run_changes_nothing_on_the_server(
    app: Flask, operator_api: Api, bind: BindServer
) -> None:
    assert deploy(app, operator_api, sample_config())["status"] == "succeeded"
    before = serial(bind)
    again = deploy(app, operator_api)
    assert again["status"] == "succeeded", again["error"]
    assert serial(bind) == before  # BIND counts every update it applies
    assert bind.query("mastodon.acme.example", "A") == ["127.0.12.10"]
    assert "A mastodon.acme.example 127.0.12.10 (unchanged, read back)" in again["log"]


def test_disabling_a_service_removes_exactly_its_records(
    app: Flask, operator_api: Api, bind: BindServer
) -> None:
    assert deploy(app, operator_api, sample_config())["status"] == "succeeded"
    services = {"mastodon": {"enable": True}, "peertube": {"enable": False}}
    result = deploy(app, operator_api, sample_config(services=services))
    assert result["status"] == "succeeded", result["error"]
    assert bind.query("peertube.acme.example", "A") == []
    assert bind.query("peertube.acme.example", "CAA") == []
    assert bind.txt("_dmarc.peertube.acme.example") == []
    assert bind.query("mastodon.acme.example", "A") == ["127.0.12.10"]
    assert bind.txt("fedipanel._domainkey.acme.example") != []
    assert_foreign_records_survive(bind)
    with app.app_context():
        names = set(db.session.scalars(select(RecordedResource.name)))
    assert not any(name.startswith("peertube.") for name in names)


def test_deleting_the_account_removes_every_record_it_wrote(
    app: Flask, operator_api: Api, bind: BindServer
) -> None:
    assert deploy(app, operator_api, sample_config())["status"] == "succeeded"
    response = operator_api.client.delete(
        "/api/v1/account", json={"confirm": "acme.example"}, headers=operator_api.headers
    )
    assert response.status_code == 202, response.get_json()
    wait_for_jobs(app)
    for host in ("mastodon.acme.example", "peertube.acme.example"):
        assert bind.query(host, "A") == []
        assert bind.query(host, "CAA") == ['0 iodef "mailto:security@acme.example"'] * (
            host.startswith("mastodon")
        )
        assert bind.txt(f"_dmarc.{host}") == []
    assert bind.txt("fedipanel._domainkey.acme.example") == []
    assert bind.txt("mastodon.acme.example") == ["site-verification=abc123"]
    assert_foreign_records_survive(bind)


def test_another_writers_address_is_not_replaced(
    app: Flask, operator_api: Api, bind: BindServer, record: Path
) -> None:
    bind.update("acme.example", "mastodon.acme.example. 300 A 203.0.113.5")
    result = deploy(app, operator_api, sample_config())
    assert result["status"] == "failed"
    assert "mastodon.acme.example already has A '203.0.113.5'" in result["error"]
    assert bind.query("mastodon.acme.example", "A") == ["203.0.113.5"]
    assert not record.exists()  # nixops4 never ran


def test_a_subdomain_of_the_providers_zone_is_published_there(
    app: Flask, operator_api: Api, bind: BindServer
) -> None:
    config = sample_config(domain="acme.provider.example")
    result = deploy(app, operator_api, config)
    assert result["status"] == "succeeded", result["error"]
    assert bind.query("mastodon.acme.provider.example", "A") == ["127.0.12.10"]


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A TCP port that accepts connections and never answers."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        yield int(sock.getsockname()[1])


@pytest.mark.parametrize(
    ("settings", "answer"),
    [
        ({"DNS_TSIG_SECRET": "d3Jvbmcgc2VjcmV0"}, "the secret is wrong (BADSIG)"),
        ({"DNS_TSIG_NAME": "stranger"}, "does not know the TSIG key 'stranger'"),
        ({"DNS_ZONES": "locked.example"}, "answered REFUSED: the key may not change this zone"),
    ],
    ids=["bad-secret", "unknown-key", "refused"],
)
def test_a_dns_server_refusing_fails_the_deployment_before_nixops4(
    app: Flask,
    operator_api: Api,
    bind: BindServer,
    record: Path,
    settings: dict[str, str],
    answer: str,
) -> None:
    app.config.update(settings)
    domain = "locked.example" if "DNS_ZONES" in settings else "acme.example"
    response = operator_api.put("/configuration", sample_config(domain=domain))
    assert response.status_code == 200
    response = operator_api.post("/deployments", {})
    assert response.status_code == 202, response.get_json()
    wait_for_jobs(app)
    result = operator_api.get(f"/deployments/{response.get_json()['id']}").get_json()
    assert result["status"] == "failed"
    assert answer in result["error"], result["error"]
    assert not record.exists()
    assert bind.query(f"mastodon.{domain}", "A") == []


def test_a_dns_server_that_never_answers_fails_the_deployment(
    app: Flask, operator_api: Api, record: Path, silent_server: int
) -> None:
    app.config.update({"DNS_PORT": str(silent_server), "DNS_TIMEOUT": 0.5})
    result = deploy(app, operator_api, sample_config())
    assert result["status"] == "failed"
    assert f"127.0.0.1 port {silent_server} did not answer within 0.5 seconds" in result["error"]
    assert not record.exists()


def test_a_failed_run_continues_without_writing_anything_twice(
    app: Flask, operator_api: Api, bind: BindServer
) -> None:
    bind.update("acme.example", "peertube.acme.example. 300 A 203.0.113.6")
    assert deploy(app, operator_api, sample_config())["status"] == "failed"
    assert bind.query("mastodon.acme.example", "A") == ["127.0.12.10"]  # written before
    assert bind.query("peertube.acme.example", "A") == ["203.0.113.6"]
    # Once the other writer's record is gone, the next run finishes the job.
    bind.delete("acme.example", "peertube.acme.example. A 203.0.113.6")
    result = deploy(app, operator_api)
    assert result["status"] == "succeeded", result["error"]
    assert bind.query("mastodon.acme.example", "A") == ["127.0.12.10"]
    assert bind.query("peertube.acme.example", "A") == ["127.0.12.11"]
    assert "A mastodon.acme.example 127.0.12.10 (unchanged, read back)" in result["log"]


def test_the_records_are_recorded_with_their_zone_and_values(
    app: Flask, operator_api: Api, bind: BindServer
) -> None:
    assert deploy(app, operator_api, sample_config())["status"] == "succeeded"
    with app.app_context():
        row = db.session.scalar(
            select(RecordedResource).where(RecordedResource.name == "mastodon.acme.example")
        )
        assert row is not None
        assert not row.simulated
        assert json.loads(json.dumps(row.facts)) == {
            "zone": "acme.example",
            "written": {"A": ["127.0.12.10"]},
        }
