"""The planner: desired vs. recorded resources -> the changes a deployment will make."""

from __future__ import annotations

import enum
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from fedipanel.core.resources import KINDS, Resource


class Action(enum.StrEnum):
    """What a deployment does to one resource."""

    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"
    KEEP = "keep"


class DataFate(enum.StrEnum):
    """What happens to the data of a disabled service's machine, bucket or key."""

    KEEP = "keep"
    DELETE = "delete"
    NEVER_DELETED = "never-deleted"


ACTIONS: tuple[str, ...] = tuple(Action)
# Kinds that hold an operator's data: a disabled service keeps or deletes them as it chose.
# A machine holds the service's database and local files on its disk.
DATA_KINDS = frozenset({"machine", "s3_bucket", "s3_key"})
# The spec field that marks a disabled service's machine as kept: shut down with its disk (a
# Proxmox VM) or left as it is (a pre-deployed VM), and started again when the service returns.
KEPT = "kept"
# How the plan says it, in the API's `note` and on the plan page: buckets and keys ...
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
# ... machines (on Proxmox or simulated) ...
MACHINE_NOTES = {
    DataFate.KEEP: "shut down, disk and database kept",
    DataFate.DELETE: "deleted with its disk and database",
}
# ... machines on a VM from the provider's pool of pre-deployed VMs ...
POOL_MACHINE_NOTES = {
    DataFate.KEEP: "its pre-deployed VM stays yours, disk and database kept",
    DataFate.DELETE: "its pre-deployed VM is wiped (database and files deleted) and returned",
}
# ... and a kept machine whose service is enabled again.
RESTARTED_NOTE = "started again with its disk and database"
# Per service, in plain words: what becomes of each kind when kept or deleted.
_KEPT_WORDS = {"s3_bucket": "kept with its files", "s3_key": "kept"}
_DELETED_WORDS = {"s3_bucket": "emptied and deleted", "s3_key": "deleted", "dns_record": "deleted"}
_LABELS = {"machine": "machine", "s3_bucket": "bucket", "s3_key": "key", "dns_record": "DNS record"}
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
    # For a disabled service's machine, buckets and key: what happens to the data.
    data: DataFate | None = None
    # What happens to the data in words, when anything special does.
    note: str = ""

    @property
    def deletes_data(self) -> bool:
        """Tell whether applying this change destroys an operator's data for good."""
        if self.action != Action.DELETE:
            return False
        return self.kind == "machine" or self.data == DataFate.DELETE

    @property
    def starts_kept_machine(self) -> bool:
        """Tell whether this change starts a kept machine again (its service is back)."""
        kept_before = bool(self.previous and self.previous.get(KEPT))
        return self.kind == "machine" and kept_before and not self.spec.get(KEPT)

    @property
    def service(self) -> str | None:
        """Return the Fediverse service this resource serves, if it tells."""
        found = self.spec.get("service") or self.spec.get("machine")
        return str(found) if found else None

    def as_json(self) -> dict[str, Any]:
        """Return the API's view of this change."""
        out: dict[str, Any] = {
            "action": str(self.action),
            "kind": self.kind,
            "name": self.name,
            "changed": list(self.changed),
            "spec": dict(self.spec),
        }
        if self.note:
            out["note"] = self.note
        if self.data:
            out["data"] = str(self.data)
        return out

    def in_words(self) -> tuple[str, str] | None:
        """Return ("kept" or "deleted", a plain sentence) when the change keeps or deletes data."""
        label = _LABELS.get(self.kind)
        if label is None:
            return None
        if self.kind == "machine" and self.note:
            side = "deleted" if self.data == DataFate.DELETE else "kept"
            return side, f"{label} {self.name}: {self.note}"
        if self.data in (DataFate.KEEP, DataFate.NEVER_DELETED) and self.kind in _KEPT_WORDS:
            words = _KEPT_WORDS[self.kind]
            if self.data == DataFate.NEVER_DELETED:
                words = "pre-configured, left as it is"
            return "kept", f"{label} {self.name}: {words}"
        if self.action == Action.DELETE and self.kind in _DELETED_WORDS:
            return "deleted", f"{label} {self.name}: {_DELETED_WORDS[self.kind]}"
        return None


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

    def services(self) -> list[dict[str, Any]]:
        """Return, per service, in plain words, what of its data is kept and what is deleted."""
        found: dict[str, dict[str, list[str]]] = {}
        for change in self.changes:
            words = change.in_words()
            if words is None or change.service is None:
                continue
            entry = found.setdefault(change.service, {"kept": [], "deleted": []})
            entry[words[0]].append(words[1])
        return [{"service": name, **found[name]} for name in sorted(found)]

    def as_json(self) -> dict[str, Any]:
        """Return the plan as the API's JSON."""
        return {
            "changes": [c.as_json() for c in self.changes],
            "summary": self.counts(),
            "services": self.services(),
        }


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


def _note(kind: str, fate: DataFate | None, pooled: bool) -> str:
    if fate is None:
        return ""
    if kind == "machine":
        return (POOL_MACHINE_NOTES if pooled else MACHINE_NOTES).get(fate, "")
    return FATE_NOTES[fate]


def _kept_machine(res: Resource, pooled: bool) -> Change:
    """Keep a disabled service's machine with its disk: an update that shuts it down, once."""
    spec = {**res.spec, KEPT: True}
    action, changed = (Action.KEEP, []) if res.spec.get(KEPT) else (Action.UPDATE, [KEPT])
    note = _note(res.kind, DataFate.KEEP, pooled)
    return Change(action, res.kind, res.name, spec, res.spec, changed, DataFate.KEEP, note)


def plan_changes(
    desired: Sequence[Resource],
    recorded: Sequence[Resource],
    keep_data: Collection[str] = (),
    pooled: Collection[str] = (),
) -> Plan:
    """Compare desired with recorded resources by (kind, name) and return the plan.

    The machine, buckets and key of the services in `keep_data` (disabled, data kept) stay:
    the machine is kept with its disk (its spec gets `kept`), the rest as it is. `pooled` names
    the recorded machines that run on pre-deployed VMs, which the plan words differently.
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
            change = Change(Action.UPDATE, res.kind, res.name, res.spec, old.spec, diff)
            if change.starts_kept_machine:
                change = replace(change, note=RESTARTED_NOTE)
            forward.append(change)
    deletes: list[Change] = []
    for key, res in existing.items():
        if key in wanted:
            continue
        on_pool = res.kind == "machine" and res.name in pooled
        if res.kind not in DATA_KINDS:
            fate = None
        elif res.spec.get("assigned"):
            fate = DataFate.NEVER_DELETED
        elif res.spec.get("service") in keep_data:
            if res.kind == "machine":
                forward.append(_kept_machine(res, on_pool))
                continue
            note = _note(res.kind, DataFate.KEEP, on_pool)
            forward.append(
                Change(Action.KEEP, res.kind, res.name, res.spec, res.spec, [], DataFate.KEEP, note)
            )
            continue
        else:
            fate = DataFate.DELETE
        note = _note(res.kind, fate, on_pool)
        deletes.append(
            Change(Action.DELETE, res.kind, res.name, res.spec, res.spec, [], fate, note)
        )
    # Stable sorts keep the callers' order within a kind.
    forward.sort(key=lambda c: _rank(c.kind))
    deletes.sort(key=lambda c: _rank(c.kind), reverse=True)
    return Plan(forward + deletes)
