"""The sections of the provider's settings page; each external system adds one here."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class SettingField:
    """One input on the settings page, stored under `key` (FEDIPANEL_<key> in the environment)."""

    key: str
    label: str
    help: str = ""
    secret: bool = False
    placeholder: str = ""


# A connection test gets the section's effective values and answers plain-language problems
# (an empty list means the connection works).
ConnectionTest = Callable[[Mapping[str, str | None]], list[str]]


@dataclass(frozen=True)
class Section:
    """A group of settings for one external system, with an optional connection test."""

    name: str
    title: str
    description: str
    fields: tuple[SettingField, ...]
    test: ConnectionTest | None = field(default=None, compare=False)
    # Validates entered values before saving: {key: message} for the values that are wrong.
    validate: Callable[[Mapping[str, str | None]], dict[str, str]] | None = field(
        default=None, compare=False
    )


def _mail_fields() -> tuple[SettingField, ...]:
    return (
        SettingField(
            "SMTP_HOST",
            "SMTP relay host",
            "Where the services send mail",
            placeholder="smtp.provider.example",
        ),
        SettingField("SMTP_PORT", "Port", "587 for STARTTLS", placeholder="587"),
        SettingField("SMTP_USER", "User name"),
        SettingField(
            "SMTP_PASSWORD", "Password", "Delivered to the machines as a file", secret=True
        ),
        SettingField(
            "SMTP_FROM_DOMAIN",
            "Sender domain",
            "Mail comes from <operator>-<service>@this domain; empty: each service's own host",
        ),
    )


def _check_mail(values: Mapping[str, str | None]) -> dict[str, str]:
    port = values.get("SMTP_PORT")
    if port and not (port.isdigit() and 0 < int(port) < 65536):
        return {"SMTP_PORT": "must be a port number between 1 and 65535"}
    return {}


SECTIONS: list[Section] = [
    Section(
        name="mail",
        title="Mail relay",
        description="The SMTP relay every service sends its mail through.",
        fields=_mail_fields(),
        validate=_check_mail,
    ),
]


def section(name: str) -> Section | None:
    """Return the section with this name."""
    return next((s for s in SECTIONS if s.name == name), None)
