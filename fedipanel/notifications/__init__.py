"""Notices to operators and the provider: stored, mailed through the relay, sent to webhooks."""
