"""The Fediverse services FediPanel deploys: everything that differs between them, once.

The configuration schema, the forms, the OpenAPI enums, the machine-size settings and the
configurator all derive from `SERVICES`; adding a service means adding an entry here (and its
NixOS builder in `fedipanel.core.builders`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fedipanel.core import builders
from fedipanel.core.buckets import BucketSpec
from fedipanel.core.builders import ServiceContext
from fedipanel.core.resources import MachineSize


@dataclass(frozen=True)
class FediverseService:
    """One deployable Fediverse service."""

    name: str
    label: str
    summary: str
    default_size: MachineSize
    buckets: tuple[BucketSpec, ...]
    build_nixos: Callable[[ServiceContext], dict[str, Any]]
    # Its NixOS module creates the nginx virtual host but leaves TLS to us (PeerTube), or sets
    # it only with mkDefault (Mastodon): FediPanel states enableACME and forceSSL explicitly.
    own_vhost_tls: bool


SERVICES: tuple[FediverseService, ...] = (
    FediverseService(
        name="mastodon",
        label="Mastodon",
        summary="microblogging",
        default_size=MachineSize(cores=4, memory_mib=8192, disk_gib=40),
        buckets=(BucketSpec("media", True),),
        build_nixos=builders.mastodon,
        own_vhost_tls=True,
    ),
    FediverseService(
        name="pixelfed",
        label="Pixelfed",
        summary="photo sharing",
        default_size=MachineSize(cores=2, memory_mib=4096, disk_gib=30),
        buckets=(BucketSpec("media", True),),
        build_nixos=builders.pixelfed,
        own_vhost_tls=False,
    ),
    FediverseService(
        name="peertube",
        label="PeerTube",
        summary="video",
        default_size=MachineSize(cores=4, memory_mib=8192, disk_gib=60),
        buckets=(
            BucketSpec("playlists", True),
            BucketSpec("videos", True),
            BucketSpec("exports", False),
            BucketSpec("originals", False),
        ),
        build_nixos=builders.peertube,
        own_vhost_tls=True,
    ),
)
SERVICE_NAMES: tuple[str, ...] = tuple(s.name for s in SERVICES)
SERVICE_LABELS: dict[str, str] = {s.name: s.label for s in SERVICES}
DEFAULT_SIZES: dict[str, MachineSize] = {s.name: s.default_size for s in SERVICES}
_BY_NAME = {s.name: s for s in SERVICES}


def service(name: str) -> FediverseService:
    """Return a service by name; raise KeyError for an unknown one."""
    return _BY_NAME[name]
