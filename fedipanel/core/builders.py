"""The `services.<name>` option values of each Fediverse service (no secrets, only file paths)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from fedipanel.core import mail, paths
from fedipanel.core.buckets import Bucket, public_bucket_url
from fedipanel.core.directory import MASTODON_LDAP_ENV, Directory, mastodon_ldap_config
from fedipanel.core.resources import MachineSize, ProviderSettings, S3Settings


@dataclass(frozen=True)
class ServiceContext:
    """Everything a service's options depend on."""

    service: str
    fqdn: str
    admin_email: str
    size: MachineSize
    settings: ProviderSettings
    buckets: tuple[Bucket, ...]
    from_address: str
    # Where the service's buckets live: the provider's Garage or a pre-configured bucket.
    s3: S3Settings | None = None
    # Who signs the machine's mail (with the relay configured).
    dkim: mail.DkimSigning | None = None
    directory: Directory | None = None


def from_address(slug: str, service: str, fqdn: str, from_domain: str | None) -> str:
    """Return the sender address of a service's mail."""
    if from_domain:
        return f"{slug}-{service}@{from_domain}"
    return f"notifications@{fqdn}"


def _bucket(ctx: ServiceContext, purpose: str) -> Bucket:
    return next(b for b in ctx.buckets if b.purpose == purpose)


def mastodon(ctx: ServiceContext) -> dict[str, Any]:
    """Return `services.mastodon`."""
    smtp = ctx.settings.smtp
    opts: dict[str, Any] = {
        "enable": True,
        "localDomain": ctx.fqdn,
        "configureNginx": True,
        # Mastodon's guidance: one streaming process per core, leaving one for the rest.
        "streamingProcesses": max(1, ctx.size.cores - 1),
        "database": {"createLocally": True},
        "redis": {"createLocally": True},
        "smtp": {"fromAddress": ctx.from_address},
    }
    if smtp:
        # The machine's Postfix relays (and signs); it takes mail from localhost unauthenticated.
        opts["smtp"].update(
            {
                "createLocally": False,
                "host": mail.LOCAL_HOST,
                "port": mail.LOCAL_PORT,
                "authenticate": False,
            }
        )
    s3 = ctx.s3
    if s3:
        bucket = _bucket(ctx, "media").name
        public = urlsplit(public_bucket_url(s3, bucket))
        # extraConfig lands in the Nix store as env vars: strings only, nothing secret.
        opts["extraConfig"] = {
            "S3_ENABLED": "true",
            "S3_BUCKET": bucket,
            "S3_ENDPOINT": s3.endpoint,
            "S3_REGION": s3.region,
            "S3_HOSTNAME": urlsplit(s3.endpoint).netloc,
            "S3_PROTOCOL": public.scheme or "https",
            "S3_ALIAS_HOST": public.netloc + public.path,
        }
        opts["extraEnvFiles"] = [paths.s3_env_file("mastodon")]
    if ctx.directory is not None:
        # Log in against the operator's directory; LDAP_PASSWORD comes from a delivered file.
        opts["extraConfig"] = {**opts.get("extraConfig", {}), **mastodon_ldap_config(ctx.directory)}
        opts["extraEnvFiles"] = [*opts.get("extraEnvFiles", []), MASTODON_LDAP_ENV]
    return opts


def pixelfed(ctx: ServiceContext) -> dict[str, Any]:
    """Return `services.pixelfed`."""
    settings: dict[str, str | int | bool] = {"INSTANCE_CONTACT_EMAIL": ctx.admin_email}
    smtp = ctx.settings.smtp
    if smtp:
        settings.update(
            {
                "MAIL_DRIVER": "smtp",
                "MAIL_MAILER": "smtp",
                "MAIL_HOST": mail.LOCAL_HOST,
                "MAIL_PORT": mail.LOCAL_PORT,
                # Laravel reads "null" as no encryption: the local Postfix offers none.
                "MAIL_ENCRYPTION": "null",
                "MAIL_FROM_ADDRESS": ctx.from_address,
                "MAIL_FROM_NAME": "Pixelfed",
            }
        )
    s3 = ctx.s3
    if s3:
        bucket = _bucket(ctx, "media").name
        settings.update(
            {
                "PF_ENABLE_CLOUD": True,
                "FILESYSTEM_CLOUD": "s3",
                "AWS_DEFAULT_REGION": s3.region,
                "AWS_BUCKET": bucket,
                "AWS_URL": public_bucket_url(s3, bucket),
                "AWS_ENDPOINT": s3.endpoint,
                "AWS_USE_PATH_STYLE_ENDPOINT": True,
            }
        )
    return {
        "enable": True,
        "domain": ctx.fqdn,
        # APP_KEY and AWS_* keys, assembled on the machine.
        "secretFile": paths.PIXELFED_ENV,
        "nginx": {"enableACME": True, "forceSSL": True},
        # The module's own documentation says PostgreSQL is not well supported: keep MySQL.
        "database": {"createLocally": True, "type": "mysql"},
        "redis": {"createLocally": True},
        "settings": settings,
    }


def peertube(ctx: ServiceContext) -> dict[str, Any]:
    """Return `services.peertube`."""
    settings: dict[str, Any] = {"admin": {"email": ctx.admin_email}}
    opts: dict[str, Any] = {
        "enable": True,
        "localDomain": ctx.fqdn,
        "configureNginx": True,
        "enableWebHttps": True,
        "listenWeb": 443,
        "database": {"createLocally": True},
        "redis": {"createLocally": True},
        "secrets": {"secretsFile": paths.PEERTUBE_SECRETS},
        # One file: PT_INITIAL_ROOT_PASSWORD and the AWS_* keys, assembled on the machine.
        "serviceEnvironmentFile": paths.PEERTUBE_ENV,
        "settings": settings,
    }
    smtp = ctx.settings.smtp
    if smtp:
        settings["smtp"] = {
            "transport": "smtp",
            "hostname": mail.LOCAL_HOST,
            "port": mail.LOCAL_PORT,
            "tls": False,
            "disable_starttls": True,
            "from_address": ctx.from_address,
        }
    s3 = ctx.s3
    if s3:
        storage: dict[str, Any] = {"enabled": True, "endpoint": s3.endpoint, "region": s3.region}
        for purpose, section in _PEERTUBE_SECTIONS:
            bucket = _bucket(ctx, purpose)
            # A pre-configured bucket holds every section, each under its own prefix.
            prefix = f"{section.replace('_', '-')}/" if bucket.assigned else ""
            storage[section] = {"bucket_name": bucket.name, "prefix": prefix}
            if bucket.public_read and s3.public_url:
                storage[section]["base_url"] = public_bucket_url(s3, bucket.name)
        settings["object_storage"] = storage
    return opts


_PEERTUBE_SECTIONS = (
    ("playlists", "streaming_playlists"),
    ("videos", "web_videos"),
    ("exports", "user_exports"),
    ("originals", "original_video_files"),
)
