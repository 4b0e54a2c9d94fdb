"""The maintenance window page: an operator's weekly slots, or the provider's default."""

from __future__ import annotations

from typing import Any

from babel import dates
from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import get_locale, gettext
from flask_login import login_required
from pydantic import ValidationError

from fedipanel.audit.log import Action
from fedipanel.core.maintenance import DAYS, MAX_SLOTS, Window, time_zones
from fedipanel.maintenance import windows
from fedipanel.timeutil import utcnow
from fedipanel.web.access import current_account
from fedipanel.web.audit import audit

bp = Blueprint("maintenance", __name__)
EMPTY_ROWS = 2


def _rows(window: Window) -> list[dict[str, Any]]:
    rows = [slot.model_dump(mode="json") for slot in window.slots]
    spare = min(EMPTY_ROWS, MAX_SLOTS - len(rows))
    return rows + [{"day": "sun", "start": "", "hours": ""} for _ in range(spare)]


def _render(
    timezone: str, rows: list[dict[str, Any]], errors: dict[str, str], status: int = 200
) -> Any:
    user = current_account()
    effective = None if user.is_provider else windows.window_for(user.id)
    page = render_template(
        "maintenance/edit.html",
        timezone=timezone,
        rows=rows,
        errors=errors,
        days=_day_names(),
        zones=time_zones(),
        effective=effective,
        opening=effective.next(utcnow()) if effective else None,
        is_provider=user.is_provider,
    )
    return page, status


@bp.route("/maintenance")
@login_required
def edit() -> Any:
    user = current_account()
    window = windows.default_window() if user.is_provider else windows.window_for(user.id).window
    return _render(window.timezone, _rows(window), {})


def _day_names() -> dict[str, str]:
    """Return each day's name in the user's language, Monday first."""
    names = dates.get_day_names("wide", locale=get_locale())
    return {key: names[index] for index, key in enumerate(DAYS)}


def _read_form() -> tuple[str, list[dict[str, Any]], list[int]]:
    """Return the time zone, every row as typed, and the indexes of the rows filled in."""
    rows, filled = [], []
    for index in range(MAX_SLOTS):
        day = request.form.get(f"slot-{index}-day")
        if day is None:
            break
        start = request.form.get(f"slot-{index}-start", "").strip()
        hours = request.form.get(f"slot-{index}-hours", "").strip()
        rows.append({"day": day, "start": start, "hours": hours})
        if start or hours:
            filled.append(index)
    return request.form.get("timezone", "").strip(), rows, filled


def _field_errors(exc: ValidationError, filled: list[int]) -> dict[str, str]:
    errors: dict[str, str] = {}
    for err in exc.errors(include_url=False):
        loc, msg = err["loc"], err["msg"].removeprefix("Value error, ")
        if loc and loc[0] == "slots" and len(loc) >= 3 and isinstance(loc[1], int):
            field = f"slot-{filled[loc[1]]}-{loc[2]}"
        elif loc and loc[0] == "slots":
            field = "slots"
            msg = gettext("add at least one slot: a start time and a number of hours")
        else:
            field = str(loc[0]) if loc else "timezone"
        errors.setdefault(field, msg)
    return errors


@bp.route("/maintenance", methods=["POST"])
@login_required
def save() -> Any:
    user = current_account()
    if request.form.get("use_default") and not user.is_provider:
        if windows.clear_window(user.id):
            audit(Action.MAINTENANCE_WINDOW_CHANGED, operator_id=user.id, timezone="default")
        flash(gettext("Your deployment now follows the provider's maintenance window."))
        return redirect(url_for("maintenance.edit"))
    timezone, rows, filled = _read_form()
    data = {
        "timezone": timezone,
        "slots": [
            {
                "day": rows[i]["day"],
                "start": rows[i]["start"],
                "hours": rows[i]["hours"] or None,
            }
            for i in filled
        ],
    }
    try:
        window = Window.model_validate(data)
    except ValidationError as exc:
        return _render(timezone, rows, _field_errors(exc, filled), 400)
    windows.save_window(None if user.is_provider else user.id, window)
    audit(
        Action.MAINTENANCE_WINDOW_CHANGED,
        operator_id=None if user.is_provider else user.id,
        timezone=window.timezone,
    )
    flash(
        gettext("The default maintenance window is saved.")
        if user.is_provider
        else gettext("Your maintenance window is saved.")
    )
    return redirect(url_for("maintenance.edit"))
