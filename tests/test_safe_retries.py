"""Calls that create are retried only after looking for what a lost answer may have made."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from fedipanel.providers.garage import provision as garage_provision
from fedipanel.providers.garage.admin import GarageAdmin, GarageError, Retry
from fedipanel.providers.proxmox import cloning, provision
from fedipanel.providers.proxmox.client import Client, Connection
from fedipanel.providers.proxmox.client import Retry as ProxmoxRetry
from tests.fakes.faults import AFTER, KINDS, Faults
from tests.fakes.garage_admin import FakeGarage
from tests.fakes.proxmox import TOKEN_ID, TOKEN_SECRET, FakeProxmox

CLUSTER = provision.Cluster(nodes=("pve1", "pve2"), template=9000, storage="linstor")
TIMEOUT = 0.5  # what the clients wait for one answer; slow answers take longer


@pytest.fixture
def pve(tmp_path: Path) -> Iterator[FakeProxmox]:
    fake = FakeProxmox(tmp_path / "pve", task_delay=0.02)  # no sshd: no VM needs to answer
    fake.start()
    try:
        yield fake
    finally:
        fake.stop()


def proxmox_client(fake: FakeProxmox, attempts: int = 5) -> Client:
    connection = Connection(fake.url, TOKEN_ID, TOKEN_SECRET, verify=str(fake.ca_file))
    retry = ProxmoxRetry(attempts=attempts, backoff=0.01, task_poll=0.02, timeout=TIMEOUT)
    return Client(connection, retry)


def garage_admin(fake: FakeGarage, attempts: int = 5) -> GarageAdmin:
    return GarageAdmin(fake.admin_url, fake.token, Retry(attempts, 0.01, 0.05, TIMEOUT))


def names(fake: FakeProxmox) -> list[str]:
    return sorted(vm.config["name"] for vm in fake.owned().values())


@pytest.mark.parametrize("kind", KINDS)
def test_a_clone_that_fails_in_any_way_once_makes_exactly_one_vm(
    pve: FakeProxmox, kind: str
) -> None:
    pve.faults = Faults(slow=TIMEOUT * 2, script=[(r"^POST .*/clone$", kind)])
    said: list[str] = []
    vm = cloning.clone(proxmox_client(pve), CLUSTER, "acme", "mastodon", said.append)
    assert pve.faults.hits == [("POST /api2/json/nodes/pve1/qemu/9000/clone", kind)]
    assert names(pve) == ["acme-mastodon"]
    assert vm.vmid in pve.owned()
    assert not pve.owned()[vm.vmid].config.get("lock")  # the clone finished before returning
    if kind in AFTER:
        assert any("exists: continuing" in line for line in said), said
    else:
        assert any("asking again" in line for line in said) or kind == "reset", said


def test_a_clone_whose_id_another_vm_took_is_not_mistaken_for_ours(pve: FakeProxmox) -> None:
    pve.knobs.nextid_collisions = 1
    pve.faults = Faults(slow=TIMEOUT * 2, script=[(r"^POST .*/clone$", "lost")])
    said: list[str] = []
    vm = cloning.clone(proxmox_client(pve), CLUSTER, "acme", "mastodon", said.append)
    assert names(pve) == ["acme-mastodon"]
    assert vm.vmid == 101
    assert pve.vms[100].foreign


def test_a_lost_answer_to_start_or_delete_is_not_a_failure(pve: FakeProxmox) -> None:
    client = proxmox_client(pve)
    vm = cloning.clone(client, CLUSTER, "acme", "mastodon", lambda _line: None)
    pve.faults = Faults(script=[(r"^POST .*/status/start$", "lost")])
    assert provision.start(client, vm)
    assert pve.vms[vm.vmid].status == "running"
    assert pve.count()["start"] == 2  # retried plainly: the second start found it running
    pve.faults = Faults(script=[(r"^POST .*/status/stop$", "lost"), (r"^DELETE ", "lost")])
    provision.delete_vm(client, vm, lambda _line: None)
    assert pve.owned() == {}
    assert [kind for _request, kind in pve.faults.hits] == ["lost", "lost"]


@pytest.mark.parametrize("kind", KINDS)
def test_a_bucket_and_a_key_that_fail_in_any_way_once_are_made_once(
    garage: FakeGarage, kind: str
) -> None:
    garage.faults = Faults(
        slow=TIMEOUT * 2,
        script=[(r"^POST /v2/CreateBucket$", kind), (r"^POST /v2/CreateKey$", kind)],
    )
    admin = garage_admin(garage)
    seen: list[object] = []
    garage_provision.ensure_bucket(
        admin, "acme-mastodon", quota_bytes=None, public_read=True, on_exists=seen.append
    )
    key = garage_provision.ensure_key(admin, "acme-mastodon", None, seen.append)
    assert [hit[1] for hit in garage.faults.hits] == [kind, kind]
    assert [b.alias for b in garage.buckets.values()] == ["acme-mastodon"]
    assert [k.name for k in garage.keys.values()] == ["acme-mastodon"]
    stored = garage.key_named("acme-mastodon")
    assert stored is not None
    assert (key.id, key.secret) == (stored.id, stored.secret)
    assert garage.bucket_named("acme-mastodon").website  # type: ignore[union-attr]


def test_deleting_what_a_lost_answer_already_deleted_is_done(garage: FakeGarage) -> None:
    admin = garage_admin(garage)
    bucket = admin.create_bucket("acme-mastodon")
    key = admin.create_key("acme-mastodon")
    garage.faults = Faults(
        script=[(r"^POST /v2/DeleteKey$", "lost"), (r"^POST /v2/DeleteBucket$", "504")]
    )
    admin.delete_key(key.id)
    admin.delete_bucket(bucket.id)
    assert garage.keys == {}
    assert garage.buckets == {}


def test_a_refusal_is_not_retried_and_an_unreachable_garage_is(garage: FakeGarage) -> None:
    garage.fail_next["CreateKey"] = (400, "InvalidRequest")
    admin = garage_admin(garage)
    with pytest.raises(GarageError, match="400 InvalidRequest"):
        admin.create_key("acme-mastodon")
    assert garage.operations() == ["CreateKey"]
    url = garage.admin_url
    garage.close()
    with pytest.raises(GarageError, match="is unreachable"):
        GarageAdmin(url, garage.token, Retry(3, 0.01, 0.05, TIMEOUT)).health()
