"""Machine sizes the provider sets per service (`vCPUs/memory MiB/disk GiB`, e.g. `4/8192/40`)."""

from __future__ import annotations

import json
import re

from fedipanel.core.registry import DEFAULT_SIZES, SERVICES
from fedipanel.core.resources import MachineSize
from fedipanel.core.sections import Section, SettingField, Values
from fedipanel.core.text import N_

_SIZE = re.compile(r"^\s*(\d{1,9})\s*/\s*(\d{1,9})\s*/\s*(\d{1,9})\s*$")
# Far beyond any VM Proxmox can run, yet small enough that nothing downstream overflows.
MAX_CORES, MAX_MEMORY_MIB, MAX_DISK_GIB = 1024, 16 * 1024 * 1024, 1024 * 1024


def parse_size(text: str) -> MachineSize:
    """Parse `vCPUs/memory MiB/disk GiB`; raise ValueError saying what is wrong."""
    found = _SIZE.fullmatch(text)
    if found is None:
        raise ValueError("must be vCPUs/memory MiB/disk GiB, e.g. 4/8192/40")
    return checked(*(int(g) for g in found.groups()))


def checked(cores: int, memory_mib: int, disk_gib: int) -> MachineSize:
    """Return the size if it is one a machine can have; raise ValueError otherwise."""
    if cores < 1 or memory_mib < 512 or disk_gib < 1:
        raise ValueError("needs at least 1 vCPU, 512 MiB memory and 1 GiB disk")
    if cores > MAX_CORES or memory_mib > MAX_MEMORY_MIB or disk_gib > MAX_DISK_GIB:
        raise ValueError(
            f"can be at most {MAX_CORES} vCPUs, {MAX_MEMORY_MIB} MiB memory and "
            f"{MAX_DISK_GIB} GiB disk"
        )
    return MachineSize(cores=cores, memory_mib=memory_mib, disk_gib=disk_gib)


def key_of(service: str) -> str:
    """Return the setting that holds a service's machine size."""
    return f"SIZE_{service.upper()}"


def _format(size: MachineSize) -> str:
    return f"{size.cores}/{size.memory_mib}/{size.disk_gib}"


def validate(values: Values) -> dict[str, str]:
    """Return {key: message} for each size that cannot be parsed."""
    problems = {}
    for key, value in values.items():
        if value:
            try:
                parse_size(value)
            except ValueError as exc:
                problems[key] = str(exc)
    return problems


def sizes_from(values: Values, overrides: object = None) -> dict[str, MachineSize]:
    """Return every service's size: the default, the settings page, then FEDIPANEL_SIZES.

    `overrides` is FEDIPANEL_SIZES, `{"mastodon": {"cores": 4, "memory_mib": 8192, ...}}` as
    JSON text or already parsed. Raises ValueError naming the setting that is wrong.
    """
    sizes = dict(DEFAULT_SIZES)
    for service in sizes:
        value = values.get(key_of(service))
        if value:
            try:
                sizes[service] = parse_size(value)
            except ValueError as exc:
                raise ValueError(f"the {service} machine size {value!r} {exc}") from None
    if isinstance(overrides, str) and overrides.strip():
        try:
            overrides = json.loads(overrides)
        except json.JSONDecodeError as exc:
            raise ValueError(f"FEDIPANEL_SIZES is not JSON ({exc})") from None
    try:
        for service, size in (overrides or {}).items():  # type: ignore[attr-defined]
            sizes[service] = checked(
                int(size["cores"]), int(size["memory_mib"]), int(size["disk_gib"])
            )
    except (AttributeError, KeyError, TypeError, ValueError) as exc:
        raise ValueError(
            "FEDIPANEL_SIZES must map service names to "
            '{"cores": N, "memory_mib": N, "disk_gib": N}'
            f" ({type(exc).__name__}: {exc})"
        ) from None
    return sizes


SECTION = Section(
    name="sizes",
    title=N_("Machine sizes"),
    description=N_(
        "The virtual hardware of each service's machine. A disk can grow but never shrink."
    ),
    fields=tuple(
        SettingField(
            key_of(s.name),
            f"{s.label} machine",
            N_("vCPUs/memory MiB/disk GiB; empty: the default (FEDIPANEL_SIZES wins)"),
            placeholder=_format(s.default_size),
        )
        for s in SERVICES
    ),
    validate=validate,
)
