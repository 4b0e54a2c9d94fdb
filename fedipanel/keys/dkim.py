"""DKIM keys: one RSA 2048 key pair per operator and sending domain, private half encrypted."""

from __future__ import annotations

import base64

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy import select

from fedipanel.crypto import decrypt, encrypt
from fedipanel.db import db
from fedipanel.keys.models import DkimKey

SELECTOR = "fedipanel"
"""The selector of the first key; a new key for the same domain gets a new selector."""


def dkim_key(operator_id: int, domain: str) -> DkimKey | None:
    """Return the operator's newest DKIM key for the domain, or None."""
    return db.session.scalar(
        select(DkimKey)
        .where(DkimKey.operator_id == operator_id, DkimKey.domain == domain.lower())
        .order_by(DkimKey.id.desc())
        .limit(1)
    )


def ensure_dkim_key(operator_id: int, domain: str) -> DkimKey:
    """Return the operator's DKIM key for the domain, generating it first if needed.

    The caller commits.
    """
    key = dkim_key(operator_id, domain)
    if key is not None:
        return key
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public_der = private.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    key = DkimKey(
        operator_id=operator_id,
        domain=domain.lower(),
        selector=SELECTOR,
        public_key=base64.b64encode(public_der).decode(),
        private_key_encrypted=encrypt(pem.decode()),
    )
    db.session.add(key)
    db.session.flush()
    return key


def txt_value(key: DkimKey) -> str:
    """Return the TXT record published at `<selector>._domainkey.<domain>` (RFC 6376)."""
    return f"v=DKIM1; k=rsa; p={key.public_key}"


def record_name(key: DkimKey) -> str:
    """Return the DNS name the public key is published under."""
    return f"{key.selector}._domainkey.{key.domain}"


def private_key_pem(key: DkimKey) -> str:
    """Return the decrypted private key (PKCS#8 PEM), for OpenDKIM and the test mail only."""
    return decrypt(key.private_key_encrypted)


def dkim_keys_of(operator_ids: list[int]) -> dict[tuple[int, str], DkimKey]:
    """Return the newest DKIM key of many operators, by (operator, domain)."""
    rows = db.session.scalars(
        select(DkimKey).where(DkimKey.operator_id.in_(operator_ids)).order_by(DkimKey.id)
    )
    return {(row.operator_id, row.domain): row for row in rows}  # the newest wins
