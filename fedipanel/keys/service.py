"""Create and read deploy keys."""

from __future__ import annotations

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from fedipanel.accounts.models import User
from fedipanel.crypto import decrypt, encrypt
from fedipanel.extensions import db
from fedipanel.keys.models import DeployKey


def ensure_deploy_key(operator: User) -> DeployKey:
    """Return the operator's deploy key, generating an Ed25519 pair on first use."""
    existing = db.session.scalar(select(DeployKey).where(DeployKey.operator_id == operator.id))
    if existing is not None:
        return existing
    private = Ed25519PrivateKey.generate()
    public = private.public_key().public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
    )
    pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.OpenSSH,
        serialization.NoEncryption(),
    )
    key = DeployKey(
        operator_id=operator.id,
        public_key=f"{public.decode()} fedipanel-{operator.slug}",
        private_key_encrypted=encrypt(pem.decode()),
    )
    db.session.add(key)
    try:
        db.session.commit()
    except IntegrityError:  # created concurrently by another request
        db.session.rollback()
        return db.session.scalars(
            select(DeployKey).where(DeployKey.operator_id == operator.id)
        ).one()
    return key


def private_key_pem(key: DeployKey) -> str:
    """Return the decrypted private key, for the SSH client only."""
    return decrypt(key.private_key_encrypted)
