"""The mail relay every service sends through: its settings section and typed values."""

from __future__ import annotations

from dataclasses import dataclass, field

from fedipanel.core.resources import SmtpSettings
from fedipanel.core.sections import Section, SettingField, Values
from fedipanel.core.validators import check_domain, check_host, check_port, problem

FIELDS = (
    SettingField(
        "SMTP_HOST",
        "SMTP relay host",
        "Where the services send mail",
        placeholder="smtp.provider.example",
    ),
    SettingField("SMTP_PORT", "Port", "587 for STARTTLS", placeholder="587"),
    SettingField("SMTP_USER", "User name"),
    SettingField("SMTP_PASSWORD", "Password", "Delivered to the machines as a file", secret=True),
    SettingField(
        "SMTP_FROM_DOMAIN",
        "Sender domain",
        "Mail comes from <operator>-<service>@this domain; empty: each service's own host",
    ),
)


@dataclass(frozen=True)
class MailSettings:
    """The provider's SMTP relay; the password is delivered to the machines as a file."""

    host: str
    port: int
    user: str | None
    from_domain: str | None
    password: str | None = field(default=None, repr=False)

    def relay(self) -> SmtpSettings:
        """Return what the configurator may know of the relay (no password)."""
        return SmtpSettings(self.host, self.port, self.user, self.from_domain)


def validate(values: Values) -> dict[str, str]:
    """Return {key: message} for each value that cannot work.

    Host, user and sender domain reach every operator's NixOS configuration, so anything but a
    plain host name, user name or domain is refused here.
    """
    problems: dict[str, str] = {}
    checks = {
        "SMTP_HOST": check_host,
        "SMTP_PORT": check_port,
        "SMTP_FROM_DOMAIN": check_domain,
    }
    for key, check in checks.items():
        value = values.get(key)
        message = problem(check, value) if value else None
        if message:
            problems[key] = message
    user = values.get("SMTP_USER")
    if user and (len(user) > 254 or not user.isprintable() or any(c.isspace() for c in user)):
        problems["SMTP_USER"] = "must be a user name without spaces (at most 254 characters)"
    return problems


def from_values(values: Values) -> MailSettings | None:
    """Return the relay, or None when no SMTP host is set; raise ValueError on bad values."""
    host = values.get("SMTP_HOST")
    if not host:
        return None
    problems = validate(values)
    if problems:
        raise ValueError(
            "mail relay settings: "
            + "; ".join(f"FEDIPANEL_{key} {message}" for key, message in problems.items())
        )
    return MailSettings(
        host=host,
        port=int(values.get("SMTP_PORT") or 587),
        user=values.get("SMTP_USER") or None,
        from_domain=values.get("SMTP_FROM_DOMAIN") or None,
        password=values.get("SMTP_PASSWORD") or None,
    )


SECTION = Section(
    name="mail",
    title="Mail relay",
    description="The SMTP relay every service sends its mail through.",
    fields=FIELDS,
    validate=validate,
)
