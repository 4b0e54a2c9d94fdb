"""What the provider saved on the settings page; secret values are encrypted at rest."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from sqlalchemy import select

from fedipanel.core.sections import Section
from fedipanel.crypto import decrypt, encrypt
from fedipanel.db import db
from fedipanel.provider_settings.models import ProviderSetting


def saved() -> dict[str, str]:
    """Return every saved setting, decrypted."""
    rows = db.session.scalars(select(ProviderSetting))
    return {row.key: decrypt(row.value) if row.is_secret else row.value for row in rows}


def save(
    section: Section,
    submitted: Mapping[str, str],
    *,
    clear: Iterable[str] = (),
    fixed: Callable[[str], bool] = lambda _key: False,
) -> None:
    """Store a section's submitted values; a blank secret keeps the stored one.

    Keys for which `fixed(key)` is true are set by the host (instance/config.py or the
    environment) and are left alone.
    """
    cleared = set(clear)
    for setting in section.fields:
        if fixed(setting.key):
            continue
        value = submitted.get(setting.key, "").strip()
        row = db.session.get(ProviderSetting, setting.key)
        if setting.key in cleared or (not value and not setting.secret):
            if row is not None:
                db.session.delete(row)
            continue
        if not value:  # blank secret: keep what is stored
            continue
        stored = encrypt(value) if setting.secret else value
        if row is None:
            db.session.add(ProviderSetting(key=setting.key, value=stored, is_secret=setting.secret))
        else:
            row.value, row.is_secret = stored, setting.secret
    db.session.commit()
