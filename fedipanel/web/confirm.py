"""Asking before an action that cannot be undone: a page whose form carries `confirm=yes`.

The list pages link to the question (a GET that changes nothing); the action's POST refuses to
act without the field, so neither a stray form nor a script skips the question by accident.
"""

from __future__ import annotations

from collections.abc import Sequence

from flask import render_template, request

FIELD = "confirm"
YES = "yes"


def confirmed() -> bool:
    """Tell whether the POST carries the confirmation the question page sends."""
    return request.form.get(FIELD) == YES


def ask(
    *,
    title: str,
    question: str,
    action: str,
    button: str,
    cancel: str,
    details: Sequence[str] = (),
    unconfirmed: bool = False,
) -> tuple[str, int]:
    """Render the question; `unconfirmed` when answering a POST that came without the field."""
    page = render_template(
        "confirm.html",
        title=title,
        question=question,
        details=details,
        action=action,
        button=button,
        cancel=cancel,
        field=FIELD,
        yes=YES,
        unconfirmed=unconfirmed,
    )
    return page, 422 if unconfirmed else 200
