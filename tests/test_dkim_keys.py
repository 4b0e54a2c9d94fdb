"""DKIM keys: generated once per operator and domain, private half encrypted at rest."""

from __future__ import annotations

import base64

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.hashes import SHA256
from flask import Flask
from sqlalchemy import select

from fedipanel.accounts.models import User
from fedipanel.db import db
from fedipanel.keys import dkim
from fedipanel.keys.models import DkimKey
from tests.helpers import Factory


def test_key_is_generated_once_per_domain(app: Flask, factory: Factory) -> None:
    operator = factory.operator()
    with app.app_context():
        first = dkim.ensure_dkim_key(operator, "Acme.Example")
        db.session.commit()
        again = dkim.ensure_dkim_key(operator, "acme.example")
        other = dkim.ensure_dkim_key(operator, "other.example")
        db.session.commit()
        assert again.id == first.id
        assert other.id != first.id
        assert dkim.record_name(first) == "fedipanel._domainkey.acme.example"


def test_public_record_matches_the_encrypted_private_key(app: Flask, factory: Factory) -> None:
    operator = factory.operator()
    with app.app_context():
        key = dkim.ensure_dkim_key(operator, "acme.example")
        db.session.commit()
        pem = dkim.private_key_pem(key)
        assert "PRIVATE KEY" not in key.private_key_encrypted
        private = serialization.load_pem_private_key(pem.encode(), password=None)
        assert isinstance(private, rsa.RSAPrivateKey)
        assert private.key_size == 2048
        value = dkim.txt_value(key)
        assert value.startswith("v=DKIM1; k=rsa; p=")
        public = serialization.load_der_public_key(base64.b64decode(value.split("p=", 1)[1]))
        assert isinstance(public, rsa.RSAPublicKey)
        signature = private.sign(b"mail", padding.PKCS1v15(), SHA256())
        public.verify(signature, b"mail", padding.PKCS1v15(), SHA256())


def test_keys_go_with_the_account(app: Flask, factory: Factory) -> None:
    operator = factory.operator()
    with app.app_context():
        dkim.ensure_dkim_key(operator, "acme.example")
        db.session.commit()
        db.session.delete(db.session.get(User, operator))
        db.session.commit()
        assert db.session.scalars(select(DkimKey)).all() == []
