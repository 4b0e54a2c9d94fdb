"""Settings the provider entered in the panel; secret values are encrypted at rest."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from fedipanel.db import db
from fedipanel.timeutil import utcnow


class ProviderSetting(db.Model):  # type: ignore[name-defined]
    """One setting by name (the FEDIPANEL_ variable's name without the prefix)."""

    __tablename__ = "provider_settings"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    is_secret: Mapped[bool] = mapped_column(default=False)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class SectionTest(db.Model):  # type: ignore[name-defined]
    """The last connection test of one settings section (saved anyway when it failed)."""

    __tablename__ = "provider_setting_tests"

    section: Mapped[str] = mapped_column(String(64), primary_key=True)
    ok: Mapped[bool]
    # The problems the test found, one per line (empty when it passed).
    problems: Mapped[str] = mapped_column(Text, default="")
    tested_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
