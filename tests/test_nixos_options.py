"""Every NixOS value the configurator emits exists in nixpkgs and fits the option's type."""

from __future__ import annotations

import itertools
import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from fedipanel.core.configuration import Configuration
from fedipanel.core.configurator import desired_state
from fedipanel.core.registry import DEFAULT_SIZES
from fedipanel.core.resources import OperatorFacts, ProviderSettings, S3Settings, SmtpSettings

REFERENCE = Path(__file__).parent / "reference" / "nixos_options_subset.json"
WILDCARDS = ("<name>", "*")
VHOST = ("services", "nginx", "virtualHosts", "<name>")
SERVICES = ("mastodon", "pixelfed", "peertube")
Type = tuple[Any, ...]


# --- A checker for the type expressions that appear in the reference ---------------------------


def _tokens(text: str) -> list[str]:
    out, i = [], 0
    while i < len(text):
        ch = text[i]
        if ch.isspace():
            i += 1
        elif ch in "()[]":
            out.append(ch)
            i += 1
        elif ch == "{":  # a submodule's body: one token, braces balanced
            depth, j = 0, i
            while True:
                depth += {"{": 1, "}": -1}.get(text[j], 0)
                j += 1
                if depth == 0:
                    break
            out.append(text[i:j])
            i = j
        elif ch == '"':
            m = re.compile(r'"(?:[^"\\]|\\.)*"').match(text, i)
            assert m, text
            out.append(m.group())
            i = m.end()
        else:
            m = re.compile(r"[^\s()\[\]{}\"]+").match(text, i)
            assert m, text
            out.append(m.group())
            i = m.end()
    return out


def _parse(toks: list[str], i: int) -> tuple[Type, int]:
    tok = toks[i]
    if tok == "(":
        inner, i = _parse(toks, i + 1)
        depth = 0  # skip commentary up to the matching parenthesis
        while True:
            tok, i = toks[i], i + 1
            if tok == ")" and depth == 0:
                return inner, i
            depth += {"(": 1, ")": -1}.get(tok, 0)
    if not tok.startswith("types."):
        raise ValueError(f"not a type: {tok}")
    name, i = tok.removeprefix("types."), i + 1
    if name in ("nullOr", "listOf", "attrsOf"):
        inner, i = _parse(toks, i)
        return (name, inner), i
    if name == "either":
        left, i = _parse(toks, i)
        right, i = _parse(toks, i)
        return ("oneOf", (left, right)), i
    if name in ("oneOf", "enum"):
        assert toks[i] == "["
        items: list[Any] = []
        i += 1
        while toks[i] != "]":
            if name == "enum":
                items.append(json.loads(toks[i]))
                i += 1
            else:
                item, i = _parse(toks, i)
                items.append(item)
        return (name, tuple(items)), i + 1
    if name == "strMatching":
        return (name, json.loads(toks[i])), i + 1
    if name == "ints.between":
        return (name, int(toks[i]), int(toks[i + 1])), i + 2
    if name == "submodule":
        words = []
        while i < len(toks) and toks[i] not in "()[]" and not toks[i].startswith("types."):
            words.append(toks[i])
            i += 1
        return (name, " ".join(words)), i
    return (name,), i


def parse_type(text: str) -> Type:
    """Parse a reference type expression, ignoring trailing commentary such as (mkEnableOption)."""
    return _parse(_tokens(text), 0)[0]


def _posix(regex: str) -> str:
    return regex.replace("[:alnum:]", "A-Za-z0-9").replace("[:alpha:]", "A-Za-z")


def _int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def fits(t: Type, v: Any) -> bool:
    """Tell whether a JSON value is accepted by a NixOS option type."""
    simple = {
        "bool": lambda: isinstance(v, bool),
        "str": lambda: isinstance(v, str),
        "lines": lambda: isinstance(v, str),
        "singleLineStr": lambda: isinstance(v, str) and "\n" not in v,
        "path": lambda: isinstance(v, str) and v.startswith("/"),
        "port": lambda: _int(v) and 0 <= v <= 65535,
        "int": lambda: _int(v),
        "ints.positive": lambda: _int(v) and v > 0,
        "attrs": lambda: isinstance(v, dict),
        "submodule": lambda: isinstance(v, dict),
        "package": lambda: False,
    }
    kind = t[0]
    if kind in simple:
        return simple[kind]()
    if kind == "ints.between":
        return _int(v) and t[1] <= v <= t[2]
    if kind == "enum":
        return isinstance(v, str) and v in t[1]
    if kind == "strMatching":
        return isinstance(v, str) and re.fullmatch(_posix(t[1]), v) is not None
    if kind == "nullOr":
        return v is None or fits(t[1], v)
    if kind == "listOf":
        return isinstance(v, list) and all(fits(t[1], x) for x in v)
    if kind == "attrsOf":
        return isinstance(v, dict) and all(fits(t[1], x) for x in v.values())
    if kind == "oneOf":
        return any(fits(alt, v) for alt in t[1])
    raise ValueError(f"unknown type {t}")


class Checker:
    """Walk nested NixOS values against the reference, collecting errors and the paths set."""

    def __init__(self, reference: dict[str, Any]) -> None:
        self.options = {tuple(k.split(".")): v for k, v in reference.items()}

    @staticmethod
    def _match(pattern: tuple[str, ...], path: tuple[str, ...]) -> bool:
        return len(pattern) == len(path) and all(
            p in WILDCARDS or p == q for p, q in zip(pattern, path, strict=True)
        )

    def lookup(self, ref: tuple[str, ...]) -> dict[str, Any] | None:
        return next((o for p, o in self.options.items() if self._match(p, ref)), None)

    def has_children(self, ref: tuple[str, ...]) -> bool:
        n = len(ref)
        return any(len(p) > n and self._match(p[:n], ref) for p in self.options)

    def check(self, values: dict[str, Any]) -> tuple[list[str], set[tuple[str, ...]]]:
        """Return the errors and every path set in `values`."""
        self.errors: list[str] = []
        self.seen: set[tuple[str, ...]] = set()
        self._walk(values, (), (), freeform=False)
        return self.errors, self.seen

    def _walk(
        self, node: Any, path: tuple[str, ...], ref: tuple[str, ...], freeform: bool | Type
    ) -> None:
        if path:
            self.seen.add(path)
        opt = self.lookup(ref) if ref else None
        if opt is not None:
            t = parse_type(opt["type"])
            base = t[1] if t[0] == "nullOr" and node is not None else t
            if base[0] == "submodule" and isinstance(node, dict):
                inner_free: bool | Type = bool(opt.get("freeform")) or "freeformType" in base[1]
                if "freeformType" in opt:  # the type of every value without an option of its own
                    inner_free = parse_type(opt["freeformType"])[1]
                inner_ref = VHOST if "vhost-options" in base[1] else ref
                for k, v in node.items():
                    self._walk(v, (*path, k), (*inner_ref, k), inner_free)
                return
            if base[0] in ("attrsOf", "listOf") and base[1][0] == "submodule":
                items = node.items() if isinstance(node, dict) else enumerate(node)
                for k, v in items:
                    self._walk(v, (*path, str(k)), (*ref, str(k)), False)
                return
            if not fits(t, node):
                self.errors.append(f"{'.'.join(path)}: {node!r} is not a {opt['type']}")
        elif isinstance(node, dict) and self.has_children(ref):
            for k, v in node.items():
                self._walk(v, (*path, k), (*ref, k), freeform)
        elif isinstance(freeform, tuple):
            if not fits(freeform, node):
                self.errors.append(f"{'.'.join(path)}: {node!r} does not fit the freeform type")
        elif not freeform:
            self.errors.append(f"{'.'.join(path)}: no such option")

    def missing_required(self, seen: set[tuple[str, ...]], services: list[str]) -> list[str]:
        """Return the required options of the given services (and set submodules) left unset."""
        missing = []
        for pattern, opt in self.options.items():
            if not opt.get("required"):
                continue
            if any(p in WILDCARDS for p in pattern):
                parents = [p for p in seen if self._match(pattern[:-1], p)]
                missing += [".".join(p) for p in parents if (*p, pattern[-1]) not in seen]
            elif pattern[:2] in {("services", s) for s in services} and pattern not in seen:
                missing.append(".".join(pattern))
        return missing


# --- Fixtures and cases -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def checker() -> Checker:
    if not REFERENCE.is_file():
        message = f"reference file missing: {REFERENCE}"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return Checker(json.loads(REFERENCE.read_text()))


KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMbI2pLgY7cpVVS7Hzx6T4nGtOazV2F1bLGdYmgS6d5Q op@laptop"
SMTP = SmtpSettings(host="smtp.provider.example", port=587, user="relay")
S3 = S3Settings(endpoint="https://s3.provider.example", public_url="https://media.provider.example")
COMBOS = [list(c) for n in range(1, 4) for c in itertools.combinations(SERVICES, n)]


def _machines(services: list[str], smtp: bool, s3: bool) -> Iterator[tuple[str, dict[str, Any]]]:
    config = Configuration.model_validate(
        {
            "domain": "acme.example",
            "admin": {"username": "alice", "email": "alice@acme.example"},
            "services": {s: {"enable": True} for s in services},
        }
    )
    settings = ProviderSettings(
        sizes=DEFAULT_SIZES,
        acme_email="acme@provider.example",
        smtp=SMTP if smtp else None,
        s3=S3 if s3 else None,
    )
    state = desired_state(config, OperatorFacts("acme", KEY), settings)
    assert sorted(state.machines) == sorted(services)
    for name, machine in state.machines.items():
        yield name, machine.nixos


def _leaves(value: Any) -> Iterator[Any]:
    if isinstance(value, dict):
        for v in value.values():
            yield from _leaves(v)
    elif isinstance(value, list):
        for v in value:
            yield from _leaves(v)
    else:
        yield value


@pytest.mark.parametrize("s3", [False, True], ids=["local-media", "s3"])
@pytest.mark.parametrize("smtp", [False, True], ids=["no-smtp", "smtp"])
@pytest.mark.parametrize("services", COMBOS, ids="+".join)
def test_every_value_is_a_known_option_of_the_right_type(
    checker: Checker, services: list[str], smtp: bool, s3: bool
) -> None:
    for name, nixos in _machines(services, smtp, s3):
        errors, seen = checker.check(nixos)
        assert errors == [], name
        assert checker.missing_required(seen, [name]) == [], name
        enabled = [s for s in SERVICES if ("services", s, "enable") in seen]
        assert enabled == [name]


@pytest.mark.parametrize("s3", [False, True], ids=["local-media", "s3"])
@pytest.mark.parametrize("smtp", [False, True], ids=["no-smtp", "smtp"])
def test_no_value_lies_in_the_nix_store(smtp: bool, s3: bool) -> None:
    for _, nixos in _machines(list(SERVICES), smtp, s3):
        strings = [v for v in _leaves(nixos) if isinstance(v, str)]
        assert not [s for s in strings if "/nix/store" in s]


def test_mastodon_extra_config_values_are_all_strings() -> None:
    nixos = dict(_machines(["mastodon"], smtp=True, s3=True))["mastodon"]
    extra = nixos["services"]["mastodon"]["extraConfig"]
    assert extra["S3_ENABLED"] == "true"
    assert all(isinstance(v, str) for v in extra.values())


def test_checker_rejects_a_wrong_type(checker: Checker) -> None:
    nixos = dict(_machines(["mastodon"], smtp=False, s3=False))["mastodon"]
    nixos["services"]["mastodon"]["streamingProcesses"] = "3"
    nixos["networking"]["hostName"] = "mastodon.acme.example"
    errors, _ = checker.check(nixos)
    assert len(errors) == 2


def test_checker_rejects_an_unknown_option(checker: Checker) -> None:
    nixos = dict(_machines(["peertube"], smtp=False, s3=False))["peertube"]
    nixos["services"]["peertube"]["objectStorage"] = {"enabled": True}
    errors, _ = checker.check(nixos)
    assert errors == ["services.peertube.objectStorage: no such option"]


def test_checker_reports_a_missing_required_option(checker: Checker) -> None:
    nixos = dict(_machines(["pixelfed"], smtp=False, s3=False))["pixelfed"]
    del nixos["services"]["pixelfed"]["secretFile"]
    errors, seen = checker.check(nixos)
    assert errors == []
    assert checker.missing_required(seen, ["pixelfed"]) == ["services.pixelfed.secretFile"]


@pytest.mark.parametrize(
    ("expression", "good", "bad"),
    [
        ("types.ints.between 300 399", 301, 200),
        ('types.listOf (types.enum ["default" "push"])', ["push"], ["pull"]),
        ("types.nullOr (types.oneOf [types.str types.int])", None, True),
        ("types.attrsOf (types.either types.str types.path)", {"a": "b"}, {"a": 1}),
        ("types.nullOr types.path", "/var/lib/x", "relative/x"),
        ("types.ints.positive", 1, 0),
        ("types.port", 443, 70000),
    ],
)
def test_type_checker_accepts_and_rejects(expression: str, good: Any, bad: Any) -> None:
    assert fits(parse_type(expression), good)
    assert not fits(parse_type(expression), bad)


def test_checker_understands_every_type_in_the_reference(checker: Checker) -> None:
    reference = json.loads(REFERENCE.read_text())
    parsed = {path: parse_type(opt["type"]) for path, opt in reference.items()}
    assert len(parsed) == len(reference)


def test_checker_checks_pixelfed_nginx_against_virtual_host_options(checker: Checker) -> None:
    nixos = dict(_machines(["pixelfed"], smtp=False, s3=False))["pixelfed"]
    nixos["services"]["pixelfed"]["nginx"]["forceSSL"] = "yes"
    errors, _ = checker.check(nixos)
    assert errors == ["services.pixelfed.nginx.forceSSL: 'yes' is not a types.bool"]


@pytest.mark.parametrize("with_garage", [False, True], ids=["only-assigned", "garage-too"])
def test_preconfigured_buckets_give_valid_options(checker: Checker, with_garage: bool) -> None:
    from fedipanel.core.resources import AssignedS3

    config = Configuration.model_validate(
        {
            "domain": "acme.example",
            "admin": {"username": "alice", "email": "alice@acme.example"},
            "services": {s: {"enable": True} for s in SERVICES},
        }
    )
    settings = ProviderSettings(
        sizes=DEFAULT_SIZES, acme_email="acme@provider.example", s3=S3 if with_garage else None
    )
    assigned = {
        s: AssignedS3("https://old-s3.example", "eu-west-1", f"legacy-{s}") for s in SERVICES
    }
    state = desired_state(config, OperatorFacts("acme", KEY, assigned), settings)
    for name, machine in state.machines.items():
        errors, seen = checker.check(machine.nixos)
        assert errors == [], name
        assert checker.missing_required(seen, [name]) == [], name
    mastodon = state.machines["mastodon"].nixos["services"]["mastodon"]
    assert mastodon["extraConfig"]["S3_BUCKET"] == "legacy-mastodon"
    assert mastodon["extraConfig"]["S3_REGION"] == "eu-west-1"
    pixelfed = state.machines["pixelfed"].nixos["services"]["pixelfed"]["settings"]
    assert pixelfed["AWS_BUCKET"] == "legacy-pixelfed"
    assert pixelfed["AWS_ENDPOINT"] == "https://old-s3.example"
