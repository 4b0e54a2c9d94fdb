"""The mail relay every service sends through: its settings, a client for it, DKIM signing."""

from fedipanel.providers.mail.settings import SECTION, MailSettings, from_values, validate

__all__ = ["SECTION", "MailSettings", "from_values", "validate"]
