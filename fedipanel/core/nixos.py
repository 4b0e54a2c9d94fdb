"""The NixOS module of one machine, as nested option values."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from fedipanel.core import mail, registry
from fedipanel.core.builders import ServiceContext

FIREWALL_TCP_PORTS: tuple[int, ...] = (22, 80, 443)


@dataclass(frozen=True)
class AdminAccount:
    """The operator's administrator on one service; its password is delivered as a file."""

    username: str
    email: str
    password_generation: int = 1

    def options(self) -> dict[str, Any]:
        """Return `fedipanel.admin` (nix/modules/fedipanel-admin.nix): no secret, only facts."""
        return {
            "username": self.username,
            "email": self.email,
            "rotation": self.password_generation,
        }


def machine_nixos(
    ctx: ServiceContext,
    host_name: str,
    domain: str,
    ssh_public_keys: list[str],
    admin: AdminAccount,
) -> dict[str, Any]:
    """Return the NixOS option values of the machine that runs one service."""
    settings = ctx.settings
    kind = registry.service(ctx.service)
    services: dict[str, Any] = {
        ctx.service: kind.build_nixos(ctx),
        "nginx": {"enable": True, "recommendedProxySettings": True},
        "openssh": {"enable": True},
    }
    if settings.smtp and ctx.dkim:
        services["postfix"] = mail.postfix(settings.smtp, ctx.fqdn)
        services["opendkim"] = mail.opendkim(ctx.dkim)
    if kind.own_vhost_tls:
        services["nginx"]["virtualHosts"] = {ctx.fqdn: {"enableACME": True, "forceSSL": True}}
    return {
        "networking": {
            "hostName": host_name,
            "domain": domain,
            "firewall": {"allowedTCPPorts": list(FIREWALL_TCP_PORTS)},
        },
        "fedipanel": {"admin": admin.options()},
        "security": {"acme": {"acceptTerms": True, "defaults": {"email": settings.acme_email}}},
        "services": services,
        "users": {
            "users": {"root": {"openssh": {"authorizedKeys": {"keys": list(ssh_public_keys)}}}}
        },
        "system": {"stateVersion": settings.state_version},
    }


def canonical_json(value: Any) -> str:
    """Serialise a JSON value the same way every time (sorted keys, no spaces)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def options_hash(options: Mapping[str, Any]) -> str:
    """Return the SHA-256 of the canonical JSON of NixOS option values."""
    return hashlib.sha256(canonical_json(options).encode()).hexdigest()
