"""Audit log pages: the provider reads every entry, each operator the entries about them.

Nothing here changes an entry: the pages only read.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import Blueprint, render_template, request
from flask_babel import gettext
from sqlalchemy import select

from fedipanel.accounts.models import User
from fedipanel.accounts.operators import all_operators
from fedipanel.audit import log
from fedipanel.audit.log import Action
from fedipanel.audit.models import AuditEntry
from fedipanel.core.validators import is_digits
from fedipanel.db import db
from fedipanel.web.access import current_account, operator_required, provider_required

bp = Blueprint("audit_pages", __name__)

PAGE_SIZE = 50
ACTIONS = [action.value for action in Action]
# Who recorded an entry without a user behind it: the worker, the command line.
SYSTEM = "FediPanel"
COMMAND_LINE = "command line"


@dataclass(frozen=True)
class EntryRow:
    """An audit entry as a page shows it."""

    id: int
    at: datetime
    action: str
    who: str
    address: str | None
    operator_id: int | None
    operator: str | None
    details: list[tuple[str, str]]


def _value(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, list):
        return ", ".join(_value(item) for item in value) or "none"
    return str(value)


def _details(entry: AuditEntry) -> list[tuple[str, str]]:
    return [(key, _value(value)) for key, value in sorted((entry.details or {}).items())]


def provider_rows(entries: Iterable[AuditEntry]) -> list[EntryRow]:
    """Return entries with everything recorded, naming the operator each one concerns."""
    rows = list(entries)
    ids = {e.operator_id for e in rows if e.operator_id is not None}
    emails: Mapping[int, str] = (
        {
            row.id: row.email
            for row in db.session.execute(select(User.id, User.email).where(User.id.in_(ids)))
        }
        if ids
        else {}
    )
    return [
        EntryRow(
            id=e.id,
            at=e.at,
            action=e.action,
            who=e.actor_email or SYSTEM,
            address=e.address,
            operator_id=e.operator_id,
            operator=(
                emails.get(e.operator_id, gettext("#%(id)s (deleted)", id=e.operator_id))
                if e.operator_id is not None
                else None
            ),
            details=_details(e),
        )
        for e in rows
    ]


def operator_rows(entries: Iterable[AuditEntry], operator_id: int) -> list[EntryRow]:
    """Return entries about an operator as the operator sees them.

    The provider's administrators are not named to operators, nor their addresses shown.
    """
    out = []
    for e in entries:
        address = e.address
        if e.actor_id == operator_id:
            who = gettext("you")
        elif e.actor_id is not None:
            who, address = gettext("your provider"), None
        elif e.actor_email == COMMAND_LINE:
            who = gettext("your provider (command line)")
        else:
            # No account behind it: a failed login names the email typed; else the panel itself.
            who = e.actor_email or SYSTEM
        out.append(EntryRow(e.id, e.at, e.action, who, address, e.operator_id, None, _details(e)))
    return out


def parse_filters(args: Mapping[str, str]) -> tuple[dict[str, Any], dict[str, str]]:
    """Read the operator, action and before filters; return them and a message per bad one."""
    filters: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for key, name in (("operator", "operator_id"), ("before", "before_id")):
        text = (args.get(key) or "").strip()
        if not text:
            continue
        if is_digits(text) and len(text) <= 18:
            filters[name] = int(text)
        else:
            errors[key] = gettext("must be a whole number")
    action = (args.get("action") or "").strip()
    if action:
        if action in ACTIONS:
            filters["action"] = action
        else:
            errors["action"] = gettext("not an action the audit log records")
    return filters, errors


@bp.route("/provider/audit")
@provider_required
def provider() -> tuple[str, int]:
    filters, errors = parse_filters(request.args)
    entries, next_before = ([], None) if errors else log.page(PAGE_SIZE, **filters)
    page = render_template(
        "audit/index.html",
        rows=provider_rows(entries),
        next_before=next_before,
        filters=filters,
        errors=errors,
        actions=ACTIONS,
        operators=all_operators(),
        scope="provider",
    )
    return page, 422 if errors else 200


@bp.route("/account/audit")
@operator_required
def own() -> tuple[str, int]:
    operator = current_account()
    filters, errors = parse_filters(request.args)
    errors.pop("operator", None)
    # An operator reads only the entries about their own account, whatever the query says.
    filters["operator_id"] = operator.id
    entries, next_before = ([], None) if errors else log.page(PAGE_SIZE, **filters)
    page = render_template(
        "audit/index.html",
        rows=operator_rows(entries, operator.id),
        next_before=next_before,
        filters=filters,
        errors=errors,
        actions=ACTIONS,
        operators=[],
        scope="operator",
    )
    return page, 422 if errors else 200
