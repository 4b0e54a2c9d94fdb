"""Fixed paths on the deployed machines where secrets live, outside the Nix store.

NixOS option values are copied into the world-readable Nix store, so the configurator only ever
names these files; their contents reach the machine by two routes:

- `SECRETS_DIR` (`/var/lib/fedipanel/secrets/`): app-internal secrets that the project's NixOS
  module generates on the machine at first boot (Pixelfed's APP_KEY, PeerTube's secret, the
  initial root passwords). The module also *assembles* the single environment files the services
  read (`PIXELFED_ENV`, `PEERTUBE_ENV`) from those generated values plus the files in `KEYS_DIR`,
  because `services.pixelfed.secretFile` and `services.peertube.serviceEnvironmentFile` each take
  exactly one path.
- `KEYS_DIR` (`/var/lib/fedipanel/keys/`): secrets the panel delivers over SSH before
  `nixops4 apply`: Postfix's password map for the SMTP relay, the operator's DKIM private key
  (which the module copies to where OpenDKIM reads it, owned by OpenDKIM's user), one S3
  environment file per service holding `AWS_ACCESS_KEY_ID` and `AWS_SECRET_ACCESS_KEY` (the key
  id is not secret, but it is only known after the key has been created, so it travels with the
  secret), and one file per service with the password of the operator's administrator account
  (`admin_password_file`).
"""

from __future__ import annotations

SECRETS_DIR = "/var/lib/fedipanel/secrets"
KEYS_DIR = "/var/lib/fedipanel/keys"

# Generated on the machine (and assembled there from KEYS_DIR files where noted).
PIXELFED_ENV = f"{SECRETS_DIR}/pixelfed.env"  # APP_KEY + MAIL_PASSWORD + AWS_* (assembled)
PEERTUBE_SECRETS = f"{SECRETS_DIR}/peertube-secrets"  # `openssl rand -hex 32`
PEERTUBE_ENV = f"{SECRETS_DIR}/peertube.env"  # PT_INITIAL_ROOT_PASSWORD + AWS_* (assembled)

# Delivered by the panel.
# `[relay]:port user:password`, read by Postfix as root (texthash: needs no postmap).
SMTP_SASL_PASSWORDS = f"{KEYS_DIR}/smtp-sasl-passwords"
# The operator's DKIM private key (PEM); the machine copies it for OpenDKIM.
DKIM_PRIVATE_KEY = f"{KEYS_DIR}/dkim.private"


def s3_env_file(service: str) -> str:
    """Return the delivered env file with a service's S3 key id and secret."""
    return f"{KEYS_DIR}/{service}-s3.env"


def admin_password_file(service: str) -> str:
    """Return the delivered file with the password of a service's administrator account."""
    return f"{KEYS_DIR}/{service}-admin-password"
