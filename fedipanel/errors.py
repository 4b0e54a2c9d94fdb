"""Refusals the application packages raise; the web side turns each kind into a status code."""

from __future__ import annotations


class PanelError(Exception):
    """A request the panel cannot honour; `message` is for the user, `loc` names the field."""

    def __init__(self, message: str, loc: tuple[str | int, ...] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.loc = loc


class NotFound(PanelError):
    """The object does not exist, or belongs to someone else."""


class Conflict(PanelError):
    """The request clashes with something in progress."""


class Refused(PanelError):
    """The request is understood but not allowed as it stands (bad input, quota, plan)."""


class Unavailable(PanelError):
    """Something the request needs is down; trying again later may work."""
