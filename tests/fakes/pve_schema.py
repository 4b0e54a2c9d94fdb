"""Request validation for the fake Proxmox, generated from the reference API description."""

from __future__ import annotations

import ipaddress
import json
import re
from functools import cache
from pathlib import Path
from typing import Any

REFERENCE = Path(__file__).resolve().parents[1] / "reference"
SUBSET = REFERENCE / "pve_api_subset.json"

_FORMATS: dict[str, re.Pattern[str]] = {
    "pve-node": re.compile(r"[a-zA-Z0-9]([a-zA-Z0-9\-]*[a-zA-Z0-9])?"),
    "pve-storage-id": re.compile(r"[a-z][a-z0-9\-_.]*[a-z0-9]", re.IGNORECASE),
    "pve-poolid": re.compile(r"[A-Za-z0-9_\-]+(/[A-Za-z0-9_\-]+){0,2}"),
    "pve-configid": re.compile(r"[a-z][a-z0-9_]+", re.IGNORECASE),
    "pve-configid-list": re.compile(r"[a-z][a-z0-9_]+([,;\s][a-z][a-z0-9_]+)*", re.IGNORECASE),
    "dns-name": re.compile(
        r"([a-zA-Z0-9]([a-zA-Z0-9\-]*[a-zA-Z0-9])?\.)*[a-zA-Z0-9]([a-zA-Z0-9\-]*[a-zA-Z0-9])?"
    ),
    # Percent-encoding only: what urllib.parse.quote(keys, safe="") produces.
    "urlencoded": re.compile(r"([A-Za-z0-9_.~\-]|%[0-9A-Fa-f]{2})*"),
    "pve-tag-list": re.compile(r"[a-z0-9_][a-z0-9_\-+.]*([;, ][a-z0-9_][a-z0-9_\-+.]*)*"),
}


@cache
def api() -> dict[str, Any]:
    """Return the reference description's paths."""
    return dict(json.loads(SUBSET.read_text())["paths"])


@cache
def routes() -> list[tuple[re.Pattern[str], str]]:
    """Return (regex, template) for every path, most specific first."""
    out = []
    for template in api():
        regex = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(template))
        out.append((re.compile(f"^{regex}$"), template))
    return sorted(out, key=lambda r: (-r[1].count("/"), "{" in r[1].rsplit("/", 1)[-1]))


def match(path: str) -> tuple[str, dict[str, str]] | None:
    """Return the path template and its path parameters."""
    for regex, template in routes():
        found = regex.match(path)
        if found:
            return template, found.groupdict()
    return None


def _definition(params: dict[str, Any], name: str) -> dict[str, Any] | None:
    if name in params:
        return params[name] or {"type": "string"}
    found = re.fullmatch(r"([a-z_]+)(\d+)", name)
    if found and f"{found.group(1)}[n]" in params:
        return params[f"{found.group(1)}[n]"] or {"type": "string"}
    return None


def validate(template: str, method: str, values: dict[str, str]) -> dict[str, str]:
    """Return {parameter: message} for everything the real server would refuse."""
    params = api()[template][method]["parameters"]
    errors: dict[str, str] = {}
    for name, value in values.items():
        definition = _definition(params, name)
        if definition is None:
            errors[name] = (
                "property is not defined in schema and the schema does not allow "
                "additional properties"
            )
            continue
        problem = check_value(definition, value)
        if problem:
            errors[name] = problem
    for name, definition in params.items():
        if definition.get("required") and name not in values and "[n]" not in name:
            errors[name] = "property is missing and it is not optional"
    return errors


def check_value(definition: dict[str, Any], value: str) -> str | None:
    """Return why `value` does not fit the parameter's definition, or None."""
    kind = definition.get("type", "string")
    if kind == "boolean":
        if value not in {"0", "1"}:
            return f"type check ('boolean') failed - got '{value}'"
        return None
    if kind == "integer":
        if not re.fullmatch(r"-?\d+", value):
            return f"type check ('integer') failed - got '{value}'"
        return _range(definition, int(value))
    if kind == "number":
        try:
            number = float(value)
        except ValueError:
            return f"type check ('number') failed - got '{value}'"
        return _range(definition, number)
    if "enum" in definition and value not in definition["enum"]:
        allowed = ", ".join(definition["enum"])
        return f"value '{value}' does not have a value in the enumeration '{allowed}'"
    if "maxLength" in definition and len(value) > int(definition["maxLength"]):
        return f"value may only be {definition['maxLength']} characters long"
    pattern = definition.get("pattern")
    if pattern:
        try:
            regex = re.compile(pattern.replace("(?^:", "(?:"))
        except re.error:
            regex = None
        if regex is not None and not regex.fullmatch(value):
            return "value does not match the regex pattern"
    fmt = definition.get("format")
    if isinstance(fmt, str):
        return _check_format(fmt, value)
    if isinstance(fmt, dict):
        return _check_property_string(fmt, value)
    return None


def _range(definition: dict[str, Any], number: float) -> str | None:
    low, high = definition.get("minimum"), definition.get("maximum")
    if low is not None and number < float(low):
        return f"value must have a minimum value of {low}"
    if high is not None and number > float(high):
        return f"value must have a maximum value of {high}"
    return None


def _check_format(fmt: str, value: str) -> str | None:
    regex = _FORMATS.get(fmt)
    if regex is not None:
        return None if regex.fullmatch(value) else f"value does not look like a valid {fmt}"
    if fmt == "pve-vmid":
        return (
            None
            if re.fullmatch(r"[1-9]\d{2,8}", value)
            else "value does not look like a valid VM ID"
        )
    if fmt == "address-list":
        for part in re.split(r"[,; ]+", value.strip()):
            try:
                ipaddress.ip_address(part)
            except ValueError:
                return f"value '{part}' does not look like a valid address"
        return None
    if fmt == "CIDR":
        try:
            ipaddress.ip_network(value, strict=False)
        except ValueError:
            return "value does not look like a valid CIDR network"
        return None
    if fmt == "pve-qm-ipconfig":
        return _check_ipconfig(value)
    return None  # formats we cannot check are accepted, as an unknown server version might


def _check_ipconfig(value: str) -> str | None:
    for part in value.split(","):
        key, sep, item = part.partition("=")
        if not sep or key not in {"ip", "gw", "ip6", "gw6"}:
            return f"invalid format - unknown property '{key}'"
        try:
            if key == "ip":
                if item != "dhcp":
                    ipaddress.IPv4Interface(item)
                    if "/" not in item:
                        return "invalid format - ip must be in CIDR notation"
            elif key == "gw":
                ipaddress.IPv4Address(item)
            elif key == "ip6":
                if item not in {"dhcp", "auto"}:
                    ipaddress.IPv6Interface(item)
            else:
                ipaddress.IPv6Address(item)
        except ValueError:
            return f"invalid format - {key}: '{item}' is not a valid address"
    return None


def _check_property_string(fmt: dict[str, Any], value: str) -> str | None:
    default_key = next((k for k, v in fmt.items() if v and v.get("default_key")), None)
    for part in value.split(","):
        key, sep, item = part.partition("=")
        if not sep:
            if default_key is None:
                return f"invalid format - missing key in '{part}'"
            key, item = default_key, part
        if key not in fmt:
            return f"invalid format - unknown property '{key}'"
        problem = check_value(fmt[key] or {"type": "string"}, item)
        if problem:
            return f"invalid format - {key}: {problem}"
    return None
