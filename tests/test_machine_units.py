"""Small pieces: address ranges and leases, Proxmox form values, quota arithmetic, sizes."""

from __future__ import annotations

from urllib.parse import unquote

import pytest
from flask import Flask

from fedipanel.core.planner import Change, Plan
from fedipanel.core.sizes import parse_size
from fedipanel.machines import addresses
from fedipanel.machines.quota import Usage, exceeded, peak_usage, refusals
from fedipanel.providers.proxmox.addresses import AddressError, parse_range
from fedipanel.providers.proxmox.client import form, parse_verify
from fedipanel.providers.proxmox.provision import disk_gib, encode_sshkeys, vm_tags
from tests.fakes import pve_schema
from tests.helpers import Factory


def test_address_range_parses_and_says_what_is_wrong() -> None:
    span = parse_range("192.0.2.10-192.0.2.12/24")
    assert list(span) == ["192.0.2.10", "192.0.2.11", "192.0.2.12"]
    assert span.cidr("192.0.2.11") == "192.0.2.11/24"
    for bad, words in (
        ("192.0.2.10-192.0.2.12", "with its prefix"),
        ("192.0.2.12-192.0.2.10/24", "must come after"),
        ("192.0.2.10-192.0.3.10/24", "outside"),
        ("nope-192.0.2.10/24", "must look like"),
    ):
        with pytest.raises(AddressError, match=words):
            parse_range(bad)


def test_leases_are_stable_avoid_taken_ones_and_run_out_clearly(
    app: Flask, factory: Factory
) -> None:
    first, second = factory.operator("a@acme.example"), factory.operator("b@acme.example")
    span = parse_range("127.0.10.1-127.0.10.3/24")
    with app.app_context():
        assert addresses.lease(first, "mastodon", span, {"127.0.10.1"}) == "127.0.10.2"
        assert addresses.lease(first, "mastodon", span, set()) == "127.0.10.2"
        assert addresses.lease(second, "mastodon", span, set()) == "127.0.10.1"
        assert addresses.lease(second, "peertube", span, set()) == "127.0.10.3"
        with pytest.raises(AddressError, match="no free address left"):
            addresses.lease(first, "pixelfed", span, set())
        addresses.release(second, "mastodon")
        assert addresses.lease(first, "pixelfed", span, set()) == "127.0.10.1"


def test_form_values_are_what_proxmox_accepts() -> None:
    assert form({"full": True, "purge": False, "newid": 101, "pool": None}) == {
        "full": "1",
        "purge": "0",
        "newid": "101",
    }
    assert parse_verify("true") is True
    assert parse_verify("False") is False
    assert parse_verify("/etc/ssl/pve-ca.pem") == "/etc/ssl/pve-ca.pem"


def test_sshkeys_are_percent_encoded_and_valid_for_the_schema() -> None:
    keys = ["ssh-ed25519 AAAAC3Nza+/= op@acme", "ssh-ed25519 BBBB second"]
    encoded = encode_sshkeys(keys)
    assert unquote(encoded) == "\n".join(keys)
    assert " " not in encoded
    assert "+" not in encoded
    definition = pve_schema.api()["/nodes/{node}/qemu/{vmid}/config"]["POST"]["parameters"]
    assert pve_schema.check_value(definition["sshkeys"], encoded) is None
    assert pve_schema.check_value(definition["sshkeys"], "\n".join(keys)) is not None
    tags = ";".join(vm_tags("acme-2", "mastodon"))
    assert pve_schema.check_value(definition["tags"], tags) is None


def test_disk_size_is_read_from_the_config() -> None:
    assert disk_gib({"scsi0": "linstor:vm-100-disk-0,size=40G"}) == 40
    assert disk_gib({"scsi0": "linstor:vm-100-disk-0,discard=on,size=512M"}) == 0.5
    assert disk_gib({}) is None


def _machine(action: str, name: str, cores: int, disk: int, old: int | None = None) -> Change:
    spec = {"service": name, "cores": cores, "memory_mib": 1024, "disk_gib": disk}
    previous = None if old is None else {**spec, "disk_gib": old, "cores": 1}
    return Change(action, "machine", name, spec, previous)


def test_peak_usage_counts_machines_being_removed_and_the_larger_size() -> None:
    plan = Plan(
        [
            _machine("update", "mastodon", 4, 40, old=30),
            _machine("create", "pixelfed", 2, 30),
            _machine("delete", "peertube", 4, 60),
        ]
    )
    assert peak_usage(plan) == Usage(3, 10, 3072, 130)
    assert exceeded(peak_usage(plan), Usage(2, None, None, 100)) == [
        "3 VMs needed, quota 2",
        "130 GiB disk needed, quota 100",
    ]
    assert refusals(plan) == []
    shrink = Plan([_machine("update", "mastodon", 4, 20, old=40)])
    assert "cannot shrink from 40 GiB to 20 GiB" in refusals(shrink)[0]


def test_machine_sizes_from_the_settings_page() -> None:
    assert parse_size(" 4 / 8192 / 40 ").disk_gib == 40
    with pytest.raises(ValueError, match=r"e\.g\. 4/8192/40"):
        parse_size("4 cores")
    with pytest.raises(ValueError, match="at least"):
        parse_size("0/8192/40")
