"""Send the operator a DKIM-signed test message through the relay and report what it said."""

from __future__ import annotations

from dataclasses import dataclass
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, make_msgid

from fedipanel.accounts.models import User
from fedipanel.configurations.versions import current_version
from fedipanel.core.builders import from_address
from fedipanel.core.configuration import Configuration
from fedipanel.db import db
from fedipanel.errors import Conflict, Unavailable
from fedipanel.keys import dkim
from fedipanel.providers.mail.relay import RelayError, send
from fedipanel.providers.mail.signing import SigningError, sign
from fedipanel.settings.effective import Settings
from fedipanel.timeutil import utcnow


@dataclass(frozen=True)
class MailTestResult:
    """What happened to the test message: accepted or refused, in the relay's words."""

    accepted: bool
    recipient: str
    sender: str
    relay: str
    code: int
    reply: str
    dkim: str

    def as_json(self) -> dict[str, object]:
        return {
            "accepted": self.accepted,
            "recipient": self.recipient,
            "from": self.sender,
            "relay": self.relay,
            "code": self.code,
            "reply": self.reply,
            "dkim": self.dkim,
        }


def sender_of(config: Configuration, slug: str, from_domain: str | None) -> str:
    """Return the address the test comes from: what the first enabled service sends as."""
    enabled = config.enabled()
    if not enabled:
        return from_address(slug, "panel", config.domain, from_domain)
    return from_address(slug, enabled[0], config.fqdn(enabled[0]), from_domain)


def compose(config: Configuration, sender: str) -> EmailMessage:
    """Return the test message to the operator's administrator."""
    message = EmailMessage(policy=SMTP)
    message["From"] = sender
    message["To"] = config.admin.email
    message["Subject"] = f"FediPanel test message for {config.domain}"
    message["Date"] = format_datetime(utcnow())
    message["Message-ID"] = make_msgid(domain=config.domain)
    message.set_content(
        f"This message went through your provider's mail relay, signed with the DKIM key of "
        f"{config.domain}, as your services' mail does.\n\nNo action is needed.\n"
    )
    return message


def send_test_mail(operator: User, settings: Settings) -> MailTestResult:
    """Sign and send the test message; raise Conflict/Unavailable when it cannot be sent."""
    relay = settings.mail
    if relay is None:
        problem = settings.problems.get("mail")
        raise Conflict(
            problem or "No mail relay is configured: your provider has not set one up yet.",
            ("mail",),
        )
    row = current_version(operator.id)
    if row is None:
        raise Conflict("Save a configuration first: the test goes to its administrator's email.")
    config = Configuration.model_validate(row.data)
    key = dkim.ensure_dkim_key(operator.id, config.domain)
    db.session.commit()
    sender = sender_of(config, operator.deployment_name, relay.from_domain)
    raw = compose(config, sender).as_bytes()
    try:
        signed = sign(
            raw,
            domain=key.domain,
            selector=key.selector,
            private_key_pem=dkim.private_key_pem(key),
        )
        reply = send(relay.client(), signed, sender, config.admin.email)
    except (RelayError, SigningError) as exc:
        raise Unavailable(str(exc), ("mail",)) from None
    return MailTestResult(
        accepted=reply.accepted,
        recipient=config.admin.email,
        sender=sender,
        relay=f"{relay.host}:{relay.port}",
        code=reply.code,
        reply=reply.text,
        dkim=f"d={key.domain} s={key.selector}",
    )
