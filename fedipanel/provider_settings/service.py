"""Reading and saving provider settings: the environment wins, then what the provider saved."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from flask import current_app

from fedipanel.crypto import decrypt, encrypt
from fedipanel.extensions import db
from fedipanel.provider_settings.models import ProviderSetting
from fedipanel.provider_settings.sections import Section


def from_environment(key: str) -> bool:
    """Tell whether `key` is fixed by the environment or instance/config.py."""
    value = current_app.config.get(key)
    return value is not None and value != ""


def get(key: str) -> str | None:
    """Return a setting's effective value (decrypted), or None when it is not set."""
    if from_environment(key):
        return str(current_app.config[key])
    row = db.session.get(ProviderSetting, key)
    if row is None:
        return None
    return decrypt(row.value) if row.is_secret else row.value


def values(keys: Iterable[str]) -> dict[str, str | None]:
    """Return the effective values of several settings."""
    return {key: get(key) for key in keys}


def section_values(section: Section) -> dict[str, str | None]:
    """Return the effective values of one section's settings."""
    return values(f.key for f in section.fields)


def save(section: Section, submitted: Mapping[str, str], clear: Iterable[str] = ()) -> None:
    """Store a section's submitted values; a blank secret keeps the stored one."""
    cleared = set(clear)
    for field in section.fields:
        if from_environment(field.key):
            continue
        value = submitted.get(field.key, "").strip()
        row = db.session.get(ProviderSetting, field.key)
        if field.key in cleared or (not value and not field.secret):
            if row is not None:
                db.session.delete(row)
            continue
        if not value:  # blank secret: keep what is stored
            continue
        stored = encrypt(value) if field.secret else value
        if row is None:
            db.session.add(ProviderSetting(key=field.key, value=stored, is_secret=field.secret))
        else:
            row.value, row.is_secret = stored, field.secret
    db.session.commit()


def secret_values() -> list[str]:
    """Return the value of every secret setting, so that logs can redact them."""
    from fedipanel.provider_settings.sections import SECTIONS

    keys = [f.key for sec in SECTIONS for f in sec.fields if f.secret]
    found = [value for value in values(keys).values() if value]
    for key in ("SECRET_KEY", "ENCRYPTION_KEY"):
        if current_app.config.get(key):
            found.append(str(current_app.config[key]))
    return found
