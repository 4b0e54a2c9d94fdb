"""A marker for user-visible messages of the core: extracted for translation, shown translated."""

from __future__ import annotations


def N_(message: str) -> str:
    """Mark `message` for the catalog and return it unchanged (the web layer translates it)."""
    return message
