"""The one typed settings object, built from every source in the order of `PRECEDENCE`."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask import current_app, g

from fedipanel.core import sizes as machine_sizes
from fedipanel.core.registry import DEFAULT_SIZES
from fedipanel.core.resources import MachineSize, MailRecordPolicy
from fedipanel.core.validators import check_port
from fedipanel.provider_settings import registry, store
from fedipanel.providers import mail
from fedipanel.providers.dns import settings as dns
from fedipanel.providers.garage import settings as garage
from fedipanel.providers.garage.admin import Retry as GarageRetry
from fedipanel.providers.mail import MailSettings
from fedipanel.providers.proxmox import settings as proxmox
from fedipanel.providers.proxmox.client import Retry
from fedipanel.settings.defaults import PROVIDER
from fedipanel.settings.sources import ORIGINS, PRECEDENCE, Source

_CACHE = "fedipanel_settings"


@dataclass(frozen=True)
class Value:
    """A provider setting's effective value (a string, as entered) and where it comes from."""

    text: str | None
    source: Source


@dataclass(frozen=True)
class Settings:
    """Everything deployments and pages need to know about the provider's infrastructure."""

    provider: Mapping[str, Value] = field(repr=False)
    redis_url: str | None
    nixops4: str | None
    flake_dir: Path
    simulate: bool
    nixops4_timeout: float
    simulator_step_delay: float
    acme_email: str | None
    state_version: str
    dns_ttl: int
    keys_dir: str
    vm_boot_timeout: float
    parallel_machines: int
    vm_shutdown_timeout: int
    vm_ssh_port: int
    accounting_retention_days: int
    usage_sample_interval: float
    ldap_sync_interval: float
    # Prepended to PATH for the account commands on machines ("": the machine's own PATH).
    account_tools_path: str
    wipe_command: str
    wipe_timeout: float
    admin_command: str
    admin_timeout: float
    health_timeout: float
    health_port: int
    health_ca_bundle: str | None
    proxmox_retry: Retry
    mail: MailSettings | None
    dns: dns.DnsSettings | None
    mail_records: MailRecordPolicy
    garage: garage.GarageSettings | None
    proxmox: proxmox.ProxmoxSettings | None
    sizes: Mapping[str, MachineSize]
    # What makes a configured system unusable, by section name ("proxmox", "mail", "sizes").
    problems: Mapping[str, str]
    secrets: tuple[str, ...] = field(repr=False)

    def values(self, keys: Iterable[str]) -> dict[str, str | None]:
        """Return the effective values of some provider settings."""
        return {key: self.provider[key].text for key in keys}

    def fixed(self, key: str) -> bool:
        """Tell whether instance/config.py or the environment sets `key` (the page can't)."""
        return self.provider[key].source in (Source.INSTANCE_FILE, Source.ENVIRONMENT)


def _text(value: Any) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):  # FEDIPANEL_PROXMOX_VERIFY=false arrives parsed as JSON
        return "true" if value else "false"
    return str(value)


def resolve(layers: Mapping[Source, Mapping[str, Any]], keys: Iterable[str]) -> dict[str, Value]:
    """Return each key's value from the latest source in PRECEDENCE that sets it."""
    found = {}
    for key in keys:
        found[key] = Value(None, Source.DEFAULT)
        for source in reversed(PRECEDENCE):
            text = _text(layers.get(source, {}).get(key))
            if text is not None:
                found[key] = Value(text, source)
                break
    return found


def build(
    config: Mapping[str, Any], origins: Mapping[str, Source], saved: Mapping[str, str]
) -> Settings:
    """Build the settings from Flask's config, where its keys came from, and the saved ones."""
    keys = [f.key for section in registry.SECTIONS for f in section.fields]
    fixed = {key: config.get(key) for key in keys}
    from_file = {k: v for k, v in fixed.items() if origins.get(k) == Source.INSTANCE_FILE}
    # Keys set any other way (the environment, a test's mapping) count as the environment.
    from_env = {k: v for k, v in fixed.items() if k not in from_file}
    layers = {
        Source.DEFAULT: PROVIDER,
        Source.SAVED: saved,
        Source.INSTANCE_FILE: from_file,
        Source.ENVIRONMENT: from_env,
    }
    provider = resolve(layers, keys)
    values = {key: value.text for key, value in provider.items()}
    problems: dict[str, str] = {}

    def attempt(name: str, make: Any, fallback: Any) -> Any:
        try:
            return make()
        except ValueError as exc:
            problems[name] = str(exc)
            return fallback

    secrets = [text for key in registry.secret_keys() if (text := values[key])]
    secrets += [str(config[k]) for k in ("SECRET_KEY", "ENCRYPTION_KEY") if config.get(k)]
    return Settings(
        provider=provider,
        redis_url=config.get("REDIS_URL") or None,
        nixops4=config.get("NIXOPS4") or None,
        flake_dir=Path(config["FLAKE_DIR"]),
        simulate=bool(config["SIMULATE"]),
        nixops4_timeout=float(config["NIXOPS4_TIMEOUT"]),
        simulator_step_delay=float(config["SIMULATOR_STEP_DELAY"]),
        acme_email=config.get("ACME_EMAIL") or None,
        state_version=str(config["STATE_VERSION"]),
        dns_ttl=int(config["DNS_TTL"]),
        keys_dir=str(config["KEYS_DIR"]),
        vm_boot_timeout=float(config["VM_BOOT_TIMEOUT"]),
        parallel_machines=int(config["PARALLEL_MACHINES"]),
        accounting_retention_days=int(config["ACCOUNTING_RETENTION_DAYS"]),
        vm_shutdown_timeout=int(config["VM_SHUTDOWN_TIMEOUT"]),
        vm_ssh_port=attempt("ssh", lambda: check_port(values["VM_SSH_PORT"] or 22), 22),
        usage_sample_interval=float(config["USAGE_SAMPLE_INTERVAL"]),
        ldap_sync_interval=float(config["LDAP_SYNC_INTERVAL"]),
        account_tools_path=str(config["ACCOUNT_TOOLS_PATH"] or ""),
        wipe_command=str(config["WIPE_COMMAND"]),
        wipe_timeout=float(config["WIPE_TIMEOUT"]),
        admin_command=str(config["ADMIN_COMMAND"]),
        admin_timeout=float(config["ADMIN_TIMEOUT"]),
        health_timeout=float(config["HEALTH_TIMEOUT"]),
        health_port=int(config["HEALTH_PORT"]),
        health_ca_bundle=config.get("HEALTH_CA_BUNDLE") or None,
        proxmox_retry=Retry(
            attempts=int(config["PROXMOX_ATTEMPTS"]),
            backoff=float(config["PROXMOX_BACKOFF"]),
            task_poll=float(config["PROXMOX_TASK_POLL"]),
            task_timeout=float(config["PROXMOX_TASK_TIMEOUT"]),
            timeout=float(config["PROXMOX_TIMEOUT"]),
        ),
        mail=attempt("mail", lambda: mail.from_values(values), None),
        dns=attempt(
            "dns", lambda: dns.from_values(values, timeout=float(config["DNS_TIMEOUT"])), None
        ),
        mail_records=attempt("dns:records", lambda: dns.mail_policy(values), MailRecordPolicy()),
        garage=garage.from_values(
            values,
            GarageRetry(
                attempts=int(config["GARAGE_ATTEMPTS"]),
                backoff=float(config["GARAGE_BACKOFF"]),
                timeout=float(config["GARAGE_TIMEOUT"]),
            ),
        ),
        proxmox=attempt(
            "proxmox",
            lambda: proxmox.load(values) if proxmox.is_configured(values) else None,
            None,
        ),
        sizes=attempt(
            "sizes",
            lambda: machine_sizes.sizes_from(values, config.get("SIZES")),
            DEFAULT_SIZES,
        ),
        problems=problems,
        secrets=tuple(secrets),
    )


def current() -> Settings:
    """Return the effective settings, built once per request or job (needs an app context)."""
    if _CACHE not in g:
        app = current_app
        setattr(g, _CACHE, build(app.config, app.extensions.get(ORIGINS, {}), store.saved()))
    settings: Settings = getattr(g, _CACHE)
    return settings


def forget() -> None:
    """Drop the settings built for this request: the provider just saved new ones."""
    g.pop(_CACHE, None)
