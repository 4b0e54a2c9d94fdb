"""The planner: desired vs. recorded resources -> the changes a deployment will make."""

from __future__ import annotations

import enum
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from fedipanel.core.resources import KINDS, Resource


class Action(enum.StrEnum):
    """What a deployment does to one resource."""

    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"
    KEEP = "keep"


class DataFate(enum.StrEnum):
    """What happens to the data of a disabled service's bucket or key."""

    KEEP = "keep"
    DELETE = "delete"
    NEVER_DELETED = "never-deleted"


ACTIONS: tuple[str, ...] = tuple(Action)
# Kinds that hold an operator's data: a disabled service keeps or deletes them as it chose.
DATA_KINDS = frozenset({"s3_bucket", "s3_key"})
# How the plan says it, in the API's `note` and on the plan page.
FATE_NOTES = {
    DataFate.KEEP: "keep data",
    DataFate.DELETE: "delete (data deleted)",
    DataFate.NEVER_DELETED: "pre-configured: bucket and data left as they are",
}
# How a change that deletes data for good is named when the operator is asked to confirm it.
DELETION_WORDS = {
    "machine": "machine {name} with its disk (the service's database and files)",
    "s3_bucket": "bucket {name} with every object in it",
    "s3_key": "access key {name}",
}
_RANK = {kind: i for i, kind in enumerate(KINDS)}


@dataclass(frozen=True)
class Change:
    """What happens to one resource; `spec` is the desired spec, or the recorded one on delete."""

    action: Action
    kind: str
    name: str
    spec: Mapping[str, Any]
    previous: Mapping[str, Any] | None = None
    changed: list[str] = field(default_factory=list)
    # For a disabled service's buckets and key: what happens to the data.
    data: DataFate | None = None

    @property
    def deletes_data(self) -> bool:
        """Tell whether applying this change destroys an operator's data for good."""
        if self.action != Action.DELETE:
            return False
        return self.kind == "machine" or self.data == DataFate.DELETE

    @property
    def note(self) -> str:
        """Say in words what happens to the data, if anything special does."""
        return FATE_NOTES[self.data] if self.data else ""

    def as_json(self) -> dict[str, Any]:
        """Return the API's view of this change."""
        out: dict[str, Any] = {
            "action": str(self.action),
            "kind": self.kind,
            "name": self.name,
            "changed": list(self.changed),
            "spec": dict(self.spec),
        }
        if self.data:
            out["note"], out["data"] = self.note, str(self.data)
        return out


@dataclass(frozen=True)
class Plan:
    """An ordered list of changes: creates, updates and keeps in KINDS order, then deletes."""

    changes: list[Change]

    def counts(self) -> dict[str, int]:
        """Return how many changes there are of each action."""
        counts = dict.fromkeys(ACTIONS, 0)
        for change in self.changes:
            counts[change.action] += 1
        return counts

    def deletions(self) -> list[str]:
        """Say, one item per resource, which data applying the plan deletes for good."""
        return [DELETION_WORDS[c.kind].format(name=c.name) for c in self.changes if c.deletes_data]

    def is_empty(self) -> bool:
        """Tell whether applying the plan would change nothing."""
        return all(change.action == Action.KEEP for change in self.changes)

    def as_json(self) -> dict[str, Any]:
        """Return the plan as the API's JSON."""
        return {"changes": [c.as_json() for c in self.changes], "summary": self.counts()}


def _rank(kind: str) -> int:
    return _RANK.get(kind, len(KINDS))


def _path(parts: tuple[str, ...]) -> str:
    # Nix attribute-path syntax: names with dots (host names) are quoted.
    return ".".join(f'"{p}"' if "." in p else p for p in parts)


def _diff_options(old: Any, new: Any, prefix: tuple[str, ...], out: list[str]) -> None:
    if isinstance(old, Mapping) and isinstance(new, Mapping):
        for key in sorted(set(old) | set(new), key=str):
            if key not in old or key not in new:
                out.append(_path((*prefix, str(key))))
            elif old[key] != new[key]:
                _diff_options(old[key], new[key], (*prefix, str(key)), out)
    elif old != new:
        out.append(_path(prefix))


def changed_fields(kind: str, old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    """Return the top-level spec fields that differ; for `nixos`, the changed option paths."""
    if kind == "nixos" and isinstance(old.get("options"), Mapping):
        out: list[str] = []
        _diff_options(old.get("options"), new.get("options"), (), out)
        if out:
            return out
    return sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))


def plan_changes(
    desired: Sequence[Resource], recorded: Sequence[Resource], keep_data: Collection[str] = ()
) -> Plan:
    """Compare desired with recorded resources by (kind, name) and return the plan.

    Buckets and keys of the services in `keep_data` (disabled, data kept) stay as they are
    instead of being deleted.
    """
    wanted: dict[tuple[str, str], Resource] = {}
    for res in desired:
        if res.key in wanted:
            raise ValueError(f"duplicate desired resource {res.kind} {res.name!r}")
        wanted[res.key] = res
    existing = {res.key: res for res in recorded}
    forward: list[Change] = []
    for key, res in wanted.items():
        old = existing.get(key)
        if old is None:
            forward.append(Change(Action.CREATE, res.kind, res.name, res.spec))
        elif old.spec == res.spec:
            forward.append(Change(Action.KEEP, res.kind, res.name, res.spec, old.spec))
        else:
            diff = changed_fields(res.kind, old.spec, res.spec)
            forward.append(Change(Action.UPDATE, res.kind, res.name, res.spec, old.spec, diff))
    deletes: list[Change] = []
    for key, res in existing.items():
        if key in wanted:
            continue
        if res.kind not in DATA_KINDS:
            fate = None
        elif res.spec.get("assigned"):
            fate = DataFate.NEVER_DELETED
        elif res.spec.get("service") in keep_data:
            forward.append(
                Change(Action.KEEP, res.kind, res.name, res.spec, res.spec, [], DataFate.KEEP)
            )
            continue
        else:
            fate = DataFate.DELETE
        deletes.append(Change(Action.DELETE, res.kind, res.name, res.spec, res.spec, [], fate))
    # Stable sorts keep the callers' order within a kind.
    forward.sort(key=lambda c: _rank(c.kind))
    deletes.sort(key=lambda c: _rank(c.kind), reverse=True)
    return Plan(forward + deletes)
