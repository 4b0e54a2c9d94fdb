"""Notices to operators and the provider (placeholder until the notifications package lands)."""
