"""Machine sizes the provider sets per service on the settings page (`4/8192/40`)."""

from __future__ import annotations

import re

from fedipanel.configurator.resources import MachineSize

_SIZE = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*/\s*(\d+)\s*$")


def parse_size(text: str) -> MachineSize:
    """Parse `vCPUs/memory MiB/disk GiB`; raise ValueError saying what is wrong."""
    found = _SIZE.fullmatch(text)
    if found is None:
        raise ValueError("must be vCPUs/memory MiB/disk GiB, e.g. 4/8192/40")
    cores, memory, disk = (int(g) for g in found.groups())
    if cores < 1 or memory < 512 or disk < 1:
        raise ValueError("needs at least 1 vCPU, 512 MiB memory and 1 GiB disk")
    return MachineSize(cores=cores, memory_mib=memory, disk_gib=disk)
