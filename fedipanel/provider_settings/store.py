"""What the provider saved on the settings page; secret values are encrypted at rest."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence

from sqlalchemy import select

from fedipanel.core.sections import Section
from fedipanel.crypto import decrypt, encrypt
from fedipanel.db import db
from fedipanel.provider_settings.models import ProviderSetting, SectionTest
from fedipanel.timeutil import utcnow


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


def record_test(section: Section, problems: Sequence[str]) -> None:
    """Remember the outcome of the section's connection test (no problems: it passed)."""
    row = db.session.get(SectionTest, section.name)
    if row is None:
        row = SectionTest(section=section.name, ok=not problems, problems="")
        db.session.add(row)
    row.ok, row.problems, row.tested_at = not problems, "\n".join(problems), utcnow()
    db.session.commit()


def forget_test(section: Section) -> None:
    """Drop the last test of a section that is no longer configured."""
    row = db.session.get(SectionTest, section.name)
    if row is not None:
        db.session.delete(row)
        db.session.commit()


def failing_tests() -> dict[str, SectionTest]:
    """Return the sections whose last connection test failed, by name."""
    rows = db.session.scalars(select(SectionTest).where(SectionTest.ok.is_(False)))
    return {row.section: row for row in rows}
