"""The mail relay every service sends through: its settings section, typed values, the test."""

from __future__ import annotations

from dataclasses import dataclass, field

from fedipanel.core.resources import SmtpSettings
from fedipanel.core.sections import Section, SettingField, Values
from fedipanel.core.text import N_
from fedipanel.core.validators import check_domain, check_host, check_port, problem
from fedipanel.providers.mail import relay
from fedipanel.providers.mail.relay import Relay, RelayError

FIELDS = (
    SettingField(
        "SMTP_HOST",
        N_("SMTP relay host"),
        N_("Where the services send mail"),
        placeholder="smtp.provider.example",
    ),
    SettingField(
        "SMTP_PORT",
        N_("Port"),
        N_("587 (or any other) for STARTTLS, 465 for SMTPS"),
        placeholder="587",
    ),
    SettingField("SMTP_USER", N_("User name"), N_("The machines log in with it over TLS")),
    SettingField(
        "SMTP_PASSWORD", N_("Password"), N_("Delivered to the machines as a file"), secret=True
    ),
    SettingField(
        "SMTP_FROM_DOMAIN",
        N_("Sender domain"),
        N_("Mail comes from <operator>-<service>@this domain; empty: each service's own host"),
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

    def client(self) -> Relay:
        """Return how the panel itself reaches the relay."""
        return Relay(self.host, self.port, self.user, self.password)


# Printable ASCII without spaces, and none of what Postfix's lookup tables or main.cf treat
# specially: the user name reaches the machines' Postfix password map and NixOS values.
_USER_CHARS = frozenset(chr(c) for c in range(0x21, 0x7F)) - set("#,=\"\\'`$")


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
    if user and (len(user) > 254 or not set(user) <= _USER_CHARS):
        problems["SMTP_USER"] = N_(
            "must be a user name of at most 254 letters, digits and punctuation such as @ . - _ "
            "(no spaces, quotes, commas, =, # or $)"
        )
    password = values.get("SMTP_PASSWORD")
    if password and ("\n" in password or "\r" in password or "\x00" in password):
        problems["SMTP_PASSWORD"] = N_("must be one line")
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


def test_connection(values: Values) -> list[str]:
    """Connect, start TLS and log in as the machines will; answer what is wrong."""
    if not values.get("SMTP_HOST"):
        return ["Not configured yet: set the SMTP relay host."]
    try:
        settings = from_values(values)
    except ValueError as exc:
        return [str(exc)]
    if settings is None:  # no host: answered above
        return []
    if settings.user and not settings.password:
        return ["A user name is set but no password: enter the relay's password."]
    try:
        relay.check(settings.client())
    except RelayError as exc:
        return [str(exc)]
    return []


SECTION = Section(
    name="mail",
    title=N_("Mail relay"),
    description=(
        N_(
            "The SMTP relay every machine's Postfix hands its mail to, DKIM-signed, over TLS and "
            "with this login."
        )
    ),
    fields=FIELDS,
    validate=validate,
    test=test_connection,
)
