"""Each machine's mail: a local Postfix that DKIM-signs through OpenDKIM and relays over TLS.

The services hand their mail to Postfix on 127.0.0.1:25 (nothing else listens: port 25 is
loopback-only and closed in the firewall). OpenDKIM signs every message whose sender is the
operator's domain or one of its subdomains with d=<operator domain> (its `SubDomains` setting,
which the project's NixOS module turns on), and Postfix relays to the provider's relay with
mandatory, verified TLS and, when the relay has a user, SASL authentication. The password map
and the private key are delivered files; only their paths are named here.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Any

from fedipanel.core import paths
from fedipanel.core.resources import SmtpSettings

LOCAL_HOST = "127.0.0.1"
LOCAL_PORT = 25
OPENDKIM_SOCKET = "local:/run/opendkim/opendkim.sock"
SMTPS_PORT = 465


@dataclass(frozen=True)
class DkimSigning:
    """Who signs: the operator's domain (d=) and the key's selector (s=)."""

    domain: str
    selector: str


def relay_host(smtp: SmtpSettings) -> str:
    """Return the relay as Postfix's `relayhost` names it, without MX lookups: `[host]:port`."""
    try:
        address = ipaddress.ip_address(smtp.host)
    except ValueError:
        return f"[{smtp.host.rstrip('.')}]:{smtp.port}"
    if address.version == 6:
        return f"[ipv6:{address}]:{smtp.port}"
    return f"[{address}]:{smtp.port}"


def postfix(smtp: SmtpSettings, fqdn: str) -> dict[str, Any]:
    """Return `services.postfix`: relay-only, signing through OpenDKIM's milter."""
    main: dict[str, Any] = {
        "myhostname": fqdn,
        "inet_interfaces": "loopback-only",
        "mydestination": ["localhost"],
        "mynetworks": ["127.0.0.0/8", "[::1]/128"],
        "relayhost": [relay_host(smtp)],
        # Mandatory TLS with the relay's certificate checked against its name, as the
        # panel's connection test does.
        "smtp_tls_security_level": "secure",
        "smtpd_milters": [f"unix:{OPENDKIM_SOCKET.removeprefix('local:')}"],
        "non_smtpd_milters": [f"unix:{OPENDKIM_SOCKET.removeprefix('local:')}"],
        # Unsigned mail waits in the queue rather than leaving when OpenDKIM is down.
        "milter_default_action": "tempfail",
    }
    if smtp.port == SMTPS_PORT:
        main["smtp_tls_wrappermode"] = True
    if smtp.user:
        main |= {
            "smtp_sasl_auth_enable": True,
            "smtp_sasl_password_maps": f"texthash:{paths.SMTP_SASL_PASSWORDS}",
            "smtp_sasl_security_options": "noanonymous",
            "smtp_sasl_tls_security_options": "noanonymous",
        }
    return {"enable": True, "settings": {"main": main}}


def opendkim(dkim: DkimSigning) -> dict[str, Any]:
    """Return `services.opendkim`: sign for the operator's domain with the delivered key."""
    return {
        "enable": True,
        "selector": dkim.selector,
        "domains": f"csl:{dkim.domain}",
        "socket": OPENDKIM_SOCKET,
    }


def sasl_passwords(smtp: SmtpSettings, password: str) -> str:
    """Return the content of Postfix's password map for the relay (a secret)."""
    return f"{relay_host(smtp)} {smtp.user}:{password}\n"
