"""Read and save maintenance windows; an operator without one follows the provider's default."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select

from fedipanel.core.maintenance import DEFAULT_WINDOW, Opening, Window, next_opening
from fedipanel.db import db
from fedipanel.maintenance.models import MaintenanceWindow


@dataclass(frozen=True)
class Effective:
    """The window that applies to an operator, and whether it is the provider's default."""

    window: Window
    is_default: bool

    def next(self, after: datetime) -> Opening:
        """Return the next occurrence at or after `after`."""
        return next_opening(self.window, after)

    def as_json(self, after: datetime) -> dict[str, Any]:
        """Return the API's view: the window, whether it is the default, and its next opening."""
        opening = self.next(after)
        zone = self.window.zone()
        return {
            **self.window.model_dump(mode="json"),
            "default": self.is_default,
            "next": {
                "start": opening.start.astimezone(zone).isoformat(),
                "end": opening.end.astimezone(zone).isoformat(),
            },
        }


def _row(operator_id: int | None) -> MaintenanceWindow | None:
    owner = (
        MaintenanceWindow.operator_id.is_(None)
        if operator_id is None
        else MaintenanceWindow.operator_id == operator_id
    )
    return db.session.scalar(select(MaintenanceWindow).where(owner).limit(1))


def _window(row: MaintenanceWindow) -> Window:
    return Window.model_validate({"timezone": row.timezone, "slots": row.slots})


def default_window() -> Window:
    """Return the provider's default window (Sunday 02:00 UTC for two hours until one is set)."""
    row = _row(None)
    return _window(row) if row else DEFAULT_WINDOW


def window_for(operator_id: int) -> Effective:
    """Return the operator's own window, or the provider's default (one query for both)."""
    rows = db.session.scalars(
        select(MaintenanceWindow).where(
            or_(
                MaintenanceWindow.operator_id == operator_id,
                MaintenanceWindow.operator_id.is_(None),
            )
        )
    ).all()
    own = next((row for row in rows if row.operator_id == operator_id), None)
    if own is not None:
        return Effective(_window(own), is_default=False)
    default = next((row for row in rows if row.operator_id is None), None)
    return Effective(_window(default) if default else DEFAULT_WINDOW, is_default=True)


def windows_for(operator_ids: list[int]) -> dict[int, Effective]:
    """Return the window of each operator, in one query for all."""
    default = default_window()
    rows = db.session.scalars(
        select(MaintenanceWindow).where(MaintenanceWindow.operator_id.in_(operator_ids))
    )
    own = {row.operator_id: Effective(_window(row), is_default=False) for row in rows}
    return {i: own.get(i) or Effective(default, is_default=True) for i in operator_ids}


def save_window(operator_id: int | None, window: Window) -> None:
    """Save the operator's window (or, for None, the provider's default) and commit."""
    row = _row(operator_id)
    if row is None:
        row = MaintenanceWindow(operator_id=operator_id)
        db.session.add(row)
    row.timezone = window.timezone
    row.slots = [slot.model_dump(mode="json") for slot in window.slots]
    db.session.commit()


def clear_window(operator_id: int) -> bool:
    """Forget the operator's own window (the default applies again); return whether it existed."""
    row = _row(operator_id)
    if row is None:
        return False
    db.session.delete(row)
    db.session.commit()
    return True
