"""Sending one plain-text email through the provider's SMTP relay (the panel's own notices)."""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate, make_msgid


@dataclass(frozen=True)
class Relay:
    """Where and as whom the panel sends its mail; the password is never shown."""

    host: str
    port: int
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    timeout: float = 10.0


class SendError(Exception):
    """The relay could not be reached, refused to talk securely, or refused the message."""


def message(*, sender: str, to: str, subject: str, text: str) -> EmailMessage:
    """Return the email: plain text, one recipient, the subject on one line."""
    mail = EmailMessage()
    mail["From"] = sender
    mail["To"] = to
    mail["Subject"] = " ".join(subject.split())
    mail["Date"] = formatdate(localtime=False, usegmt=True)
    mail["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or None)
    mail.set_content(text)
    return mail


def send(relay: Relay, mail: EmailMessage) -> None:
    """Send `mail` through the relay: STARTTLS when offered (required with a user), then AUTH."""
    try:
        with smtplib.SMTP(relay.host, relay.port, timeout=relay.timeout) as smtp:
            smtp.ehlo()
            if smtp.has_extn("starttls"):
                smtp.starttls(context=ssl.create_default_context())
                smtp.ehlo()
            elif relay.user:
                raise SendError(
                    f"{relay.host}:{relay.port} does not offer STARTTLS: the password is not "
                    "sent in clear"
                )
            if relay.user:
                smtp.login(relay.user, relay.password or "")
            smtp.send_message(mail)
    except SendError:
        raise
    except smtplib.SMTPAuthenticationError as exc:
        refused = f"{relay.host} refused the user name or password ({exc.smtp_code})"
        raise SendError(refused) from None
    except smtplib.SMTPResponseException as exc:
        reply = exc.smtp_error.decode(errors="replace") if isinstance(exc.smtp_error, bytes) else ""
        raise SendError(f"{relay.host} answered {exc.smtp_code} {reply}".strip()) from None
    except smtplib.SMTPRecipientsRefused as exc:
        raise SendError(f"{relay.host} refused the recipient {', '.join(exc.recipients)}") from None
    except ssl.SSLError as exc:
        raise SendError(f"TLS with {relay.host} failed: {exc.reason or exc}") from None
    except (smtplib.SMTPException, OSError) as exc:
        raise SendError(
            f"cannot send through {relay.host}:{relay.port}: {exc or type(exc).__name__}"
        ) from None
