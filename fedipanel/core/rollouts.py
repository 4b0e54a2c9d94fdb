"""What the provider asks for in a rollout: the change, who gets it, and how carefully."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

from fedipanel.core.registry import SERVICE_NAMES
from fedipanel.core.resources import MachineSize
from fedipanel.core.sizes import checked
from fedipanel.core.validators import DATE_TIME, PROXMOX_NODE, PROXMOX_STORAGE

MAX_OPERATORS = 10_000
MAX_NOTICE_HOURS = 90 * 24


# Text with something besides white space, and no control character (C0, DEL, C1) but newlines
# and tabs. The white space is spelled out rather than \s, whose meaning differs between Python
# (str.strip()'s, which the value is stripped with) and the ECMA regexes of OpenAPI's readers.
_CONTROL = r"\x00-\x08\x0b-\x1f\x7f-\x9f"
_BLANK = r"\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
TEXT = re.compile(rf"^[^{_CONTROL}]*[^{_BLANK}][^{_CONTROL}]*$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Redeploy(_Strict):
    """Deploy every operator's current configuration again (e.g. after a NixOS module change)."""

    kind: Literal["redeploy"]


class Size(_Strict):
    """One service's machine size."""

    cores: int = Field(ge=1, le=1024)
    memoryMib: int = Field(ge=512, le=16 * 1024 * 1024)
    diskGib: int = Field(ge=1, le=1024 * 1024)

    def machine_size(self) -> MachineSize:
        """Return the size as the configurator takes it."""
        return checked(self.cores, self.memoryMib, self.diskGib)


class Sizes(_Strict):
    """New machine sizes for some services; the others keep theirs."""

    kind: Literal["sizes"]
    sizes: dict[str, Size] = Field(
        min_length=1, json_schema_extra={"propertyNames": {"enum": list(SERVICE_NAMES)}}
    )

    @field_validator("sizes")
    @classmethod
    def _known_services(cls, value: dict[str, Size]) -> dict[str, Size]:
        unknown = sorted(set(value) - set(SERVICE_NAMES))
        if unknown:
            raise ValueError(
                f"unknown service {', '.join(unknown)}: sizes are for {', '.join(SERVICE_NAMES)}"
            )
        return value


class Pin(_Strict):
    """A new pin of the provider flake's inputs (its flake.lock) for the operators in it."""

    kind: Literal["pin"]
    flakeLock: dict[str, Any] = Field(
        description="The whole flake.lock document; its `root` names one of its `nodes`",
        json_schema_extra={
            "required": ["nodes", "root", "version"],
            "properties": {
                "nodes": {"type": "object"},
                "root": {"type": "string"},
                "version": {"type": "integer"},
            },
        },
    )

    @field_validator("flakeLock")
    @classmethod
    def _looks_like_a_lock(cls, value: dict[str, Any]) -> dict[str, Any]:
        nodes, version = value.get("nodes"), value.get("version")
        whole = isinstance(version, int) or (isinstance(version, float) and version.is_integer())
        if not isinstance(nodes, dict) or not isinstance(value.get("root"), str):
            raise ValueError("must be a flake.lock document with 'nodes' and 'root'")
        if isinstance(version, bool) or not whole:
            raise ValueError("must be a flake.lock document: 'version' is a whole number")
        if value["root"] not in nodes:
            raise ValueError("must be a flake.lock document: 'root' names one of its 'nodes'")
        return value


NodeName = Annotated[
    str, Field(min_length=1, max_length=63, json_schema_extra={"pattern": PROXMOX_NODE})
]


class ProxmoxParameters(_Strict):
    """The Proxmox settings that shape an operator's VMs; those left out stay as they are."""

    # At least one parameter (the validator of Proxmox below says so in words).
    model_config = ConfigDict(extra="forbid", json_schema_extra={"minProperties": 1})

    template: int | None = Field(
        default=None, ge=100, le=999_999_999, description="VMID of the template new VMs clone"
    )
    storage: str | None = Field(
        default=None,
        min_length=1,
        max_length=100,
        json_schema_extra={"pattern": PROXMOX_STORAGE},
        description="Where new VMs' disks go",
    )
    pool: str | None = Field(
        default=None, min_length=1, max_length=100, description="Resource pool of new VMs"
    )
    nodes: list[Annotated[str, Field(min_length=1, max_length=63, pattern=PROXMOX_NODE)]] | None = (
        Field(default=None, max_length=100, description="Nodes new VMs go to ([]: any node)")
    )

    # The patterns are checked here rather than by `pattern=`, to answer in the settings page's
    # words; the document states them (json_schema_extra).
    @field_validator("storage")
    @classmethod
    def _storage_id(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(PROXMOX_STORAGE, value):
            raise ValueError("not a storage ID")
        return value

    @field_validator("nodes")
    @classmethod
    def _node_names(cls, value: list[str] | None) -> list[str] | None:
        bad = [name for name in value or [] if not re.fullmatch(PROXMOX_NODE, name)]
        if bad:
            raise ValueError(f"not a node name: {', '.join(bad)}")
        return value

    def given(self) -> dict[str, Any]:
        """Return the parameters the provider set, by name."""
        return self.model_dump(exclude_unset=True)


class Proxmox(_Strict):
    """New virtualisation parameters for the operators in the rollout; the others keep theirs."""

    kind: Literal["proxmox"]
    parameters: ProxmoxParameters

    @field_validator("parameters")
    @classmethod
    def _some_parameter(cls, value: ProxmoxParameters) -> ProxmoxParameters:
        if not value.given():
            raise ValueError("give at least one of template, storage, pool, nodes")
        return value


class Rekey(_Strict):
    """A new deploy key and new S3 keys per operator; the old ones go once the update succeeded."""

    kind: Literal["rekey"]


OperatorIds = Annotated[
    list[Annotated[int, Field(ge=1, le=2**63 - 1)]],
    Field(min_length=1, max_length=MAX_OPERATORS),
]
Change = Annotated[Redeploy | Sizes | Pin | Proxmox | Rekey, Field(discriminator="kind")]


class RolloutSpec(_Strict):
    """A rollout as the provider asks for it (API, page and command line)."""

    model_config = ConfigDict(extra="forbid", title="Rollout")

    title: str = Field(min_length=1, max_length=200, json_schema_extra={"pattern": TEXT.pattern})
    reason: str = Field(
        min_length=1,
        max_length=4000,
        description="Shown to operators",
        json_schema_extra={"pattern": TEXT.pattern},
    )
    deadline: AwareDatetime = Field(description="Every operator is updated before this time")
    operators: Literal["all"] | OperatorIds = Field(
        default="all", description='"all", or a list of operator ids'
    )
    batchSize: int = Field(default=1, ge=1, le=MAX_OPERATORS)
    failureThreshold: int = Field(default=1, ge=1, le=MAX_OPERATORS)
    noticeHours: int = Field(default=72, ge=0, le=MAX_NOTICE_HOURS)
    change: Change

    @field_validator("deadline", mode="before")
    @classmethod
    def _date_time(cls, value: Any) -> Any:
        if isinstance(value, datetime):  # from the page and the command line, already read
            return value
        if not isinstance(value, str) or not DATE_TIME.fullmatch(value):
            raise ValueError("must be a date and time with its offset, e.g. 2027-01-10T02:00:00Z")
        return value

    @field_validator("deadline")
    @classmethod
    def _in_utc_range(cls, value: datetime) -> datetime:
        try:
            return value.astimezone(UTC)
        except OverflowError:
            raise ValueError("must fall between the years 1 and 9999 in UTC") from None

    @field_validator("title", "reason")
    @classmethod
    def _printable(cls, value: str) -> str:
        if not TEXT.fullmatch(value):
            raise ValueError("must not be blank, nor hold control characters but newlines and tabs")
        return value.strip()

    @field_validator("operators")
    @classmethod
    def _some_operators(cls, value: Any) -> Any:
        return sorted(set(value)) if isinstance(value, list) else value
