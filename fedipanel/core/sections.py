"""How an external system describes its settings: the fields, their check and a connection test.

Each adapter in `fedipanel.providers` defines one `Section`; the panel lists them on the provider's
settings page, stores what the provider enters, and builds the adapter's typed settings from the
effective values. Values are strings (or None when unset), as entered or as in the environment.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

Values = Mapping[str, str | None]
# Answers {key: message} for each value that cannot work (empty: all fine).
Validator = Callable[[Values], dict[str, str]]
# Answers plain-language problems found by talking to the real system (empty: it works).
ConnectionTest = Callable[[Values], list[str]]


@dataclass(frozen=True)
class SettingField:
    """One input on the settings page, stored under `key` (FEDIPANEL_<key> in the environment)."""

    key: str
    label: str
    help: str = ""
    secret: bool = False
    placeholder: str = ""
    # Used when nothing sets the field (shown as the placeholder too).
    default: str | None = None


@dataclass(frozen=True)
class Section:
    """A group of settings for one external system."""

    name: str
    title: str
    description: str
    fields: tuple[SettingField, ...]
    validate: Validator | None = field(default=None, compare=False)
    test: ConnectionTest | None = field(default=None, compare=False)

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(f.key for f in self.fields)
