"""Placeholder with the notifications interface; replaced by the real package."""

from __future__ import annotations

from typing import Any

SENT: list[dict[str, Any]] = []


def notify(operator_id: int, *, kind: str, title: str, text: str, payload: dict[str, Any]) -> None:
    """Record a notice for the operator."""
    notice = {"operator": operator_id, "kind": kind, "title": title, "text": text}
    SENT.append({**notice, "payload": payload})


def notify_provider(*, kind: str, title: str, text: str, payload: dict[str, Any]) -> None:
    """Record a notice for the provider."""
    SENT.append({"operator": None, "kind": kind, "title": title, "text": text, "payload": payload})
