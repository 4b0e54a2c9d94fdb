"""Talk SMTP to the provider's relay: check it (connect, STARTTLS, authenticate) and send.

The relay is reached the way the machines' Postfix reaches it: STARTTLS on any port but 465,
where TLS starts at once (SMTPS). The certificate is verified against the system's trust store
(`SSL_CERT_FILE` points elsewhere), and the password only ever travels inside TLS.
"""

from __future__ import annotations

import smtplib
import socket
import ssl
from dataclasses import dataclass, field

SMTPS_PORT = 465


class RelayError(Exception):
    """The relay could not be used; the message says why in plain words."""


@dataclass(frozen=True)
class Relay:
    """How to reach and log in to the relay (the password is never shown)."""

    host: str
    port: int
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    timeout: float = 15.0


@dataclass(frozen=True)
class Reply:
    """What the relay answered to a message: accepted (250) or refused, with its words."""

    accepted: bool
    code: int
    text: str


def _decode(raw: bytes | str) -> str:
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
    return " ".join(text.split())


def _connect(relay: Relay, context: ssl.SSLContext) -> smtplib.SMTP:
    """Open a session and start TLS; raise RelayError saying what went wrong."""
    where = f"{relay.host}:{relay.port}"
    try:
        if relay.port == SMTPS_PORT:
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(
                relay.host, relay.port, timeout=relay.timeout, context=context
            )
            smtp.ehlo()
            return smtp
        smtp = smtplib.SMTP(relay.host, relay.port, timeout=relay.timeout)
    except ssl.SSLCertVerificationError as exc:
        raise RelayError(
            f"The relay's TLS certificate is not trusted: {exc.verify_message}."
        ) from None
    except ssl.SSLError as exc:
        raise RelayError(f"TLS with {where} failed: {exc.reason or exc}.") from None
    except TimeoutError:
        raise RelayError(f"{where} did not answer within {relay.timeout:g} seconds.") from None
    except socket.gaierror:
        raise RelayError(f"The host name {relay.host} does not resolve.") from None
    except ConnectionRefusedError:
        raise RelayError(f"{where} refused the connection: is the port right?") from None
    except (OSError, smtplib.SMTPException) as exc:
        raise RelayError(f"Could not connect to {where}: {exc}.") from None
    try:
        smtp.ehlo()
        if not smtp.has_extn("starttls"):
            raise RelayError(
                f"{where} does not offer STARTTLS: the password and the mail would travel "
                "unencrypted. Use the relay's submission port (587) or SMTPS (465)."
            )
        code, text = smtp.starttls(context=context)
        if code != 220:
            raise RelayError(f"{where} refused STARTTLS: {code} {_decode(text)}.")
        smtp.ehlo()
    except ssl.SSLCertVerificationError as exc:
        _quit(smtp)
        raise RelayError(
            f"The relay's TLS certificate is not trusted: {exc.verify_message}."
        ) from None
    except (ssl.SSLError, smtplib.SMTPException, OSError) as exc:
        _quit(smtp)
        raise RelayError(f"STARTTLS with {where} failed: {exc}.") from None
    except RelayError:
        _quit(smtp)
        raise
    return smtp


def _login(smtp: smtplib.SMTP, relay: Relay) -> str | None:
    """Authenticate when a user is set; return the relay's answer."""
    if not relay.user:
        return None
    if not relay.password:
        raise RelayError("A user name is set but no password: enter the relay's password.")
    if not smtp.has_extn("auth"):
        raise RelayError(f"{relay.host} does not offer authentication (AUTH) after STARTTLS.")
    offered = smtp.esmtp_features.get("auth", "").upper().split()
    # One mechanism, one attempt: smtplib's login() would retry a refused password with others.
    mechanism = next((m for m in ("PLAIN", "LOGIN") if m in offered), None)
    if mechanism is None:
        raise RelayError(
            f"{relay.host} offers no password login (PLAIN or LOGIN), only: {' '.join(offered)}."
        )
    smtp.user, smtp.password = relay.user, relay.password
    authobject = smtp.auth_plain if mechanism == "PLAIN" else smtp.auth_login
    try:
        code, text = smtp.auth(mechanism, authobject)
    except smtplib.SMTPAuthenticationError as exc:
        raise RelayError(
            f"The relay refused the user name or password ({exc.smtp_code} "
            f"{_decode(exc.smtp_error)})."
        ) from None
    except smtplib.SMTPException as exc:
        raise RelayError(f"Authentication failed: {exc}.") from None
    return f"{code} {_decode(text)}"


def _quit(smtp: smtplib.SMTP) -> None:
    try:
        smtp.quit()
    except (smtplib.SMTPException, OSError):
        smtp.close()


def check(relay: Relay, context: ssl.SSLContext | None = None) -> str:
    """Connect, start TLS and authenticate; return what the relay said or raise RelayError."""
    smtp = _connect(relay, context or ssl.create_default_context())
    try:
        answer = _login(smtp, relay)
    finally:
        _quit(smtp)
    tls = "TLS" if relay.port == SMTPS_PORT else "STARTTLS"
    if answer is None:
        return f"{relay.host}:{relay.port} accepts {tls}; no user name set, so no authentication."
    return f"{relay.host}:{relay.port} accepts {tls} and the login ({answer})."


def send(
    relay: Relay,
    message: bytes,
    sender: str,
    recipient: str,
    context: ssl.SSLContext | None = None,
) -> Reply:
    """Hand one message to the relay; return its answer (refusals too), or raise RelayError."""
    smtp = _connect(relay, context or ssl.create_default_context())
    try:
        _login(smtp, relay)
        code, text = smtp.mail(sender)
        if code != 250:
            return Reply(False, code, _decode(text))
        code, text = smtp.rcpt(recipient)
        if code not in (250, 251):
            return Reply(False, code, _decode(text))
        code, text = smtp.data(message)
        return Reply(code == 250, code, _decode(text))
    except smtplib.SMTPResponseException as exc:
        return Reply(False, exc.smtp_code, _decode(exc.smtp_error))
    except smtplib.SMTPServerDisconnected:
        raise RelayError(f"{relay.host} closed the connection while the mail was sent.") from None
    except (smtplib.SMTPException, OSError) as exc:
        raise RelayError(f"Sending through {relay.host} failed: {exc}.") from None
    finally:
        _quit(smtp)
