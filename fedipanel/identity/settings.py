"""Read, check and save an operator's directory; test the connection to it."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from fedipanel.core.directory import (
    CA_PATTERN,
    Directory,
    DirectoryInputError,
    check_directory,
)
from fedipanel.crypto import decrypt, encrypt
from fedipanel.db import db
from fedipanel.identity.models import DirectorySettings
from fedipanel.providers import ldap

# API names of the fields, with their defaults; the page uses the same names.
FIELDS: dict[str, Any] = {
    "url": "",
    "insecure": False,
    "bindDn": "",
    "baseDn": "",
    "userFilter": "(objectClass=inetOrgPerson)",
    "usernameAttribute": "uid",
    "emailAttribute": "mail",
    "nameAttribute": "cn",
    "adminGroup": "",
    "caCertificate": "",
}
_COLUMNS = {
    "url": "url",
    "insecure": "insecure",
    "bindDn": "bind_dn",
    "baseDn": "base_dn",
    "userFilter": "user_filter",
    "usernameAttribute": "username_attribute",
    "emailAttribute": "email_attribute",
    "nameAttribute": "name_attribute",
    "adminGroup": "admin_group",
    "caCertificate": "ca_certificate",
}
MAX_LENGTH = {"caCertificate": 20000, "userFilter": 1000}
PASSWORD_MAX = 500
CA_CERTIFICATE = re.compile(CA_PATTERN)


def max_length(name: str) -> int:
    """Return how many characters a string field may hold."""
    return MAX_LENGTH.get(name, 500)


@dataclass(frozen=True)
class Connection:
    """Everything the panel needs to read the directory, password included."""

    directory: Directory
    password: str
    ca_certificate: str


def settings_row(operator_id: int) -> DirectorySettings | None:
    """Return the operator's saved directory, if any."""
    return db.session.scalar(
        select(DirectorySettings).where(DirectorySettings.operator_id == operator_id)
    )


def as_json(row: DirectorySettings | None) -> dict[str, Any]:
    """Return the saved directory without its password (whether one is set is said)."""
    if row is None:
        return {**FIELDS, "configured": False, "bindPasswordSet": False}
    values = {name: getattr(row, column) for name, column in _COLUMNS.items()}
    return {**values, "configured": True, "bindPasswordSet": bool(row.bind_password_encrypted)}


def _directory(values: dict[str, Any]) -> Directory:
    return Directory(
        url=values["url"],
        bind_dn=values["bindDn"],
        base_dn=values["baseDn"],
        user_filter=values["userFilter"],
        username_attribute=values["usernameAttribute"],
        email_attribute=values["emailAttribute"],
        name_attribute=values["nameAttribute"],
        admin_group=values["adminGroup"],
        insecure=bool(values["insecure"]),
    )


def parse(body: dict[str, Any], current: DirectorySettings | None) -> Connection:
    """Check a submitted directory (API names); a missing password keeps the saved one."""
    unknown = sorted(set(body) - set(FIELDS) - {"bindPassword"})
    if unknown:
        raise DirectoryInputError(unknown[0], "unknown field")
    values: dict[str, Any] = {}
    for name, default in FIELDS.items():
        value = body.get(name, default)
        if isinstance(default, bool):
            if not isinstance(value, bool):
                raise DirectoryInputError(name, "must be true or false")
        elif not isinstance(value, str):
            raise DirectoryInputError(name, "must be a string")
        elif len(value) > max_length(name):
            raise DirectoryInputError(name, f"must be at most {max_length(name)} characters")
        values[name] = value
    directory = check_directory(_directory(values))
    if not CA_CERTIFICATE.fullmatch(values["caCertificate"]):
        raise DirectoryInputError("caCertificate", "must be a PEM certificate, or empty")
    password = body.get("bindPassword", "")
    if not isinstance(password, str) or len(password) > PASSWORD_MAX or "\0" in password:
        raise DirectoryInputError(
            "bindPassword", f"must be a string of at most {PASSWORD_MAX} characters, no NUL"
        )
    if password == "":
        if current is None:
            raise DirectoryInputError(
                "bindPassword", "the bind password is required until one is saved"
            )
        password = decrypt(current.bind_password_encrypted)
    return Connection(directory, password, values["caCertificate"])


def save(operator_id: int, connection: Connection) -> DirectorySettings:
    """Store the operator's directory, the password encrypted."""
    row = settings_row(operator_id) or DirectorySettings(operator_id=operator_id)
    d = connection.directory
    row.url, row.insecure, row.bind_dn, row.base_dn = d.url, d.insecure, d.bind_dn, d.base_dn
    row.user_filter, row.admin_group = d.user_filter, d.admin_group
    row.username_attribute, row.email_attribute = d.username_attribute, d.email_attribute
    row.name_attribute, row.ca_certificate = d.name_attribute, connection.ca_certificate
    row.bind_password_encrypted = encrypt(connection.password)
    db.session.add(row)
    db.session.commit()
    return row


def saved_connection(operator_id: int) -> Connection | None:
    """Return the saved directory with its decrypted password, for the sync and deployments."""
    row = settings_row(operator_id)
    if row is None:
        return None
    values = as_json(row)
    return Connection(
        _directory(values), decrypt(row.bind_password_encrypted), row.ca_certificate or ""
    )


def saved_directory(operator_id: int) -> Directory | None:
    """Return the saved directory without its password (the configurator's input)."""
    row = settings_row(operator_id)
    return None if row is None else _directory(as_json(row))


@dataclass(frozen=True)
class TestResult:
    """What "Test connection" found, in plain words."""

    ok: bool
    message: str
    users: int = 0
    admins: int = 0
    field: str | None = None

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"ok": self.ok, "message": self.message}
        out |= {"users": self.users, "admins": self.admins}
        if self.field:
            out["loc"] = [self.field]
        return out


def test_connection(connection: Connection) -> TestResult:
    """Bind, count users and admins, and say what is wrong if anything is."""
    try:
        found = ldap.list_users(
            connection.directory, connection.password, connection.ca_certificate
        )
    except ldap.DirectoryError as exc:
        return TestResult(False, exc.message, field=exc.field)
    if not found.users:
        return TestResult(
            False,
            f"the filter {connection.directory.user_filter} matches nobody under "
            f"{connection.directory.base_dn}",
            field="userFilter",
        )
    skipped = (
        f"; {len(found.skipped)} skipped (no usable username or email)" if found.skipped else ""
    )
    admins = "" if connection.directory.admin_group else " (no admin group set)"
    message = f"Connected: {len(found.users)} users, {found.admins} admins{admins}{skipped}."
    return TestResult(True, message, len(found.users), found.admins)


def saved_directories(operator_ids: list[int]) -> dict[int, Directory | None]:
    """Return `saved_directory` of many operators at once."""
    rows = db.session.scalars(
        select(DirectorySettings).where(DirectorySettings.operator_id.in_(operator_ids))
    )
    saved = {row.operator_id: _directory(as_json(row)) for row in rows}
    return {i: saved.get(i) for i in operator_ids}
