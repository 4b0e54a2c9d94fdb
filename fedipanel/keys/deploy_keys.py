"""Create and read operators' deploy keys."""

from __future__ import annotations

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select

from fedipanel.crypto import decrypt, encrypt
from fedipanel.db import db
from fedipanel.keys.models import DeployKey


class MissingDeployKey(LookupError):
    """An operator created before keys came with the account has none yet: run `init`."""


MISSING_KEY = "this operator has no deploy key yet: run `flask --app wsgi fedipanel init`"


def _generate(slug: str) -> tuple[str, str]:
    """Return a new Ed25519 pair: (OpenSSH public key, encrypted private key)."""
    private = Ed25519PrivateKey.generate()
    public = private.public_key().public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
    )
    pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.OpenSSH,
        serialization.NoEncryption(),
    )
    return f"{public.decode()} fedipanel-{slug}", encrypt(pem.decode())


def add_deploy_key(operator_id: int, slug: str) -> DeployKey:
    """Generate the operator's Ed25519 deploy key pair (the caller commits)."""
    public, private = _generate(slug)
    key = DeployKey(operator_id=operator_id, public_key=public, private_key_encrypted=private)
    db.session.add(key)
    return key


def start_rekey(operator_id: int, slug: str) -> DeployKey:
    """Give the operator a pending new deploy key, unless one waits already (the caller commits).

    Until a deployment succeeded with it authorized, the current key stays the one used.
    """
    key = deploy_key(operator_id)
    if key.next_public_key is None:
        key.next_public_key, key.next_private_key_encrypted = _generate(slug)
    return key


def rekeying(operator_id: int) -> bool:
    """Tell whether the operator has a pending new deploy key."""
    key = db.session.scalar(select(DeployKey).where(DeployKey.operator_id == operator_id))
    return key is not None and key.next_public_key is not None


def next_private_key_pem(key: DeployKey) -> str:
    """Return the pending key's decrypted private key, for the SSH client only."""
    if key.next_private_key_encrypted is None:
        raise MissingDeployKey("no new deploy key is pending")
    return decrypt(key.next_private_key_encrypted)


def promote_next_key(key: DeployKey) -> None:
    """Make the pending key the operator's deploy key; the old private key is gone (caller
    commits)."""
    if key.next_public_key is None or key.next_private_key_encrypted is None:
        return
    key.public_key, key.private_key_encrypted = key.next_public_key, key.next_private_key_encrypted
    key.next_public_key = key.next_private_key_encrypted = None


def deploy_key(operator_id: int) -> DeployKey:
    """Return the operator's deploy key; raise MissingDeployKey when it has none."""
    key = db.session.scalar(select(DeployKey).where(DeployKey.operator_id == operator_id))
    if key is None:
        raise MissingDeployKey(MISSING_KEY)
    return key


def add_missing_deploy_keys(operators: list[tuple[int, str]]) -> int:
    """Give each (id, slug) operator without a deploy key one; return how many were added."""
    have = set(db.session.scalars(select(DeployKey.operator_id)))
    added = [add_deploy_key(i, slug) for i, slug in operators if i not in have]
    db.session.commit()
    return len(added)


def private_key_pem(key: DeployKey) -> str:
    """Return the decrypted private key, for the SSH client only."""
    return decrypt(key.private_key_encrypted)


def deploy_keys_of(operator_ids: list[int]) -> dict[int, DeployKey]:
    """Return the deploy keys of many operators (those that have one)."""
    rows = db.session.scalars(select(DeployKey).where(DeployKey.operator_id.in_(operator_ids)))
    return {row.operator_id: row for row in rows}
