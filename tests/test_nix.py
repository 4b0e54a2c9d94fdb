"""Checks of the provider flake in nix/ that need only `nix-instantiate`.

No nixpkgs, nixops4 or network here: the library in nix/lib is pure, the
flake and the NixOS module are evaluated against small stand-ins for their
inputs, and the secrets script is run against a temporary directory with
stand-ins for chown, install and systemctl.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

# Starts programs of its own (sshd, nix, nixops4's fake): not in `make test-fast`.
pytestmark = pytest.mark.external

ROOT = Path(__file__).resolve().parent.parent
NIX_DIR = ROOT / "nix"
LIB = NIX_DIR / "lib"
SECRETS_MODULE = NIX_DIR / "modules" / "fedipanel-secrets.nix"
WIPE_MODULE = NIX_DIR / "modules" / "fedipanel-wipe.nix"
MAIL_MODULE = NIX_DIR / "modules" / "fedipanel-mail.nix"
ADMIN_MODULE = NIX_DIR / "modules" / "fedipanel-admin.nix"
FORMAT = "fedipanel.deployment/1"

NIX_INSTANTIATE = shutil.which("nix-instantiate")
if NIX_INSTANTIATE is None:
    if os.environ.get("CI") == "true":
        pytest.fail("nix-instantiate is required in CI (Debian package nix-bin)", pytrace=False)
    pytest.skip("nix-instantiate not installed (Debian package nix-bin)", allow_module_level=True)


def sample_document() -> dict:
    return {
        "format": FORMAT,
        "deployment": "acme",
        "generation": 3,
        "machines": {
            "mastodon": {
                "ssh": {"host": "192.0.2.10", "user": "root", "hostPublicKey": None},
                "nixos": {
                    "networking": {"hostName": "mastodon", "domain": "acme.example"},
                    "services": {
                        "mastodon": {
                            "enable": True,
                            "localDomain": "mastodon.acme.example",
                            "extraConfig": {"S3_ENABLED": "true"},
                        }
                    },
                    "system": {"stateVersion": "25.05"},
                },
            },
            "media": {
                "ssh": {
                    "host": "media.acme.example",
                    "user": "deploy",
                    "hostPublicKey": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExampleKey",
                },
                "nixos": {
                    "networking": {"hostName": "media"},
                    "services": {
                        "peertube": {
                            "enable": True,
                            "localDomain": "video.acme.example",
                            "secrets": {
                                "secretsFile": "/var/lib/fedipanel/secrets/peertube-secrets"
                            },
                            "serviceEnvironmentFile": "/var/lib/fedipanel/secrets/peertube.env",
                        }
                    },
                    "system": {"stateVersion": "25.05"},
                },
            },
        },
    }


@pytest.fixture
def nix_env(tmp_path: Path) -> dict[str, str]:
    """An environment in which nix-instantiate needs no writable /nix (non-root CI)."""
    home = tmp_path / "home"
    state = tmp_path / "nix-state"
    home.mkdir()
    state.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("NIX_")}
    env.update(
        HOME=str(home),
        XDG_CACHE_HOME=str(home / ".cache"),
        NIX_STATE_DIR=str(state),
        NIX_REMOTE="",
        NIX_PATH="",
    )
    return env


def nix(env: dict[str, str], *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    cmd = [str(NIX_INSTANTIATE), "--readonly-mode", *args]
    result = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120, check=False)
    if check and result.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} failed:\n{result.stderr}")
    return result


def nix_eval(env: dict[str, str], expr: str, **argstrs: str) -> object:
    args: list[str] = []
    for name, value in argstrs.items():
        args += ["--argstr", name, value]
    result = nix(env, "--eval", "--strict", "--json", *args, "-E", expr)
    return json.loads(result.stdout)


def write_doc(tmp_path: Path, doc: object, name: str = "deployment.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(doc))
    path.chmod(0o600)
    return path


# Members of the document, with paths in `modules` turned into strings (a
# path in --json output would be copied to the store).
MEMBERS_EXPR = f"""
{{ file }}:
let
  fp = import {LIB};
  show = m: if builtins.isPath m then {{ path = toString m; }} else m;
in
builtins.mapAttrs (_: member: member // {{ modules = map show member.modules; }})
  (fp.membersFromFile file)
"""


# --- members ---------------------------------------------------------------


def test_one_member_per_machine_with_its_ssh_target(tmp_path, nix_env):
    doc = sample_document()
    members = nix_eval(nix_env, MEMBERS_EXPR, file=str(write_doc(tmp_path, doc)))

    assert sorted(members) == ["mastodon", "media"]
    for name, machine in doc["machines"].items():
        member = members[name]
        assert member["name"] == name
        assert member["deployment"] == "acme"
        assert member["generation"] == 3
        assert member["ssh"] == machine["ssh"]


def test_nixos_values_pass_through_unchanged(tmp_path, nix_env):
    doc = sample_document()
    members = nix_eval(nix_env, MEMBERS_EXPR, file=str(write_doc(tmp_path, doc)))

    for name, machine in doc["machines"].items():
        member = members[name]
        assert member["nixos"] == machine["nixos"]
        values_module = member["modules"][0]
        assert values_module["config"] == machine["nixos"]
        assert name in values_module["_file"]


def test_project_module_and_metadata_are_in_every_module_list(tmp_path, nix_env):
    members = nix_eval(nix_env, MEMBERS_EXPR, file=str(write_doc(tmp_path, sample_document())))

    for name, member in members.items():
        paths = [m["path"] for m in member["modules"] if "path" in m]
        assert paths == [str(SECRETS_MODULE)]
        metadata = member["modules"][1]
        assert metadata["config"] == {
            "fedipanel": {"deployment": {"name": "acme", "generation": 3, "machine": name}}
        }
        # The project's module comes last, so it sees the machine's values.
        assert member["modules"][-1] == {"path": str(SECRETS_MODULE)}


def test_read_deployment_parses_the_file(tmp_path, nix_env):
    doc = sample_document()
    parsed = nix_eval(
        nix_env,
        f"{{ file }}: (import {LIB}).readDeployment file",
        file=str(write_doc(tmp_path, doc)),
    )
    assert parsed == doc


def test_empty_machines_is_a_valid_deployment(tmp_path, nix_env):
    doc = sample_document() | {"machines": {}}
    assert nix_eval(nix_env, MEMBERS_EXPR, file=str(write_doc(tmp_path, doc))) == {}


def members_error(tmp_path: Path, env: dict[str, str], doc: object) -> str:
    path = write_doc(tmp_path, doc)
    result = nix(
        env,
        "--eval",
        "--strict",
        "--json",
        "--argstr",
        "file",
        str(path),
        "-E",
        MEMBERS_EXPR,
        check=False,
    )
    assert result.returncode != 0, result.stdout
    return result.stderr


def test_wrong_format_throws_a_clear_message(tmp_path, nix_env):
    doc = sample_document() | {"format": "fedipanel.deployment/2"}
    stderr = members_error(tmp_path, nix_env, doc)
    assert (
        'fedipanel deployment document: unsupported format "fedipanel.deployment/2", '
        'expected "fedipanel.deployment/1"'
    ) in stderr


def test_missing_format_throws(tmp_path, nix_env):
    doc = sample_document()
    del doc["format"]
    stderr = members_error(tmp_path, nix_env, doc)
    assert "unsupported format (missing)" in stderr


def test_not_an_object_throws(tmp_path, nix_env):
    stderr = members_error(tmp_path, nix_env, [1, 2])
    assert "fedipanel deployment document: expected a JSON object, got list" in stderr


def test_missing_and_wrong_fields_are_all_listed(tmp_path, nix_env):
    doc = sample_document()
    del doc["generation"]
    doc["deployment"] = "Acme Corp"
    del doc["machines"]["mastodon"]["ssh"]["host"]
    del doc["machines"]["media"]["nixos"]
    doc["machines"]["media"]["ssh"]["user"] = 0
    doc["machines"]["bad name"] = {"ssh": {}, "nixos": {}}
    stderr = members_error(tmp_path, nix_env, doc)

    assert "fedipanel deployment document is invalid" in stderr
    for message in [
        "generation: missing (expected an integer)",
        "deployment: expected the operator's slug (lowercase letters, digits, '-'), "
        'got "Acme Corp"',
        "machines.mastodon.ssh.host: missing (expected a non-empty string)",
        "machines.media.nixos: missing (expected an object of NixOS option values)",
        "machines.media.ssh.user: expected a non-empty string or null, got int",
        'machines: invalid machine name "bad name"',
        "machines.bad name.ssh.hostPublicKey: missing",
    ]:
        assert message in stderr


def test_machines_must_be_an_object(tmp_path, nix_env):
    doc = sample_document() | {"machines": []}
    stderr = members_error(tmp_path, nix_env, doc)
    assert "machines: expected an object mapping machine names to machines, got list" in stderr


# --- deployment module (nix/lib/nixops4.nix) -------------------------------------------

DEPLOYMENT_EXPR = f"""
{{ file }}:
let
  fp = import {LIB};
  d = import {LIB}/nixops4.nix {{
    localProvider = "LOCAL-PROVIDER";
    nixosResource = "NIXOS-RESOURCE-MODULE";
    nixpkgs = "NIXPKGS";
    extraModules = [ "PROVIDER-MODULE" ];
    sshOpts = "-i /keys/panel";
  }};
  module = d.deploymentModule (fp.membersFromFile file);
  evaluated = module {{ providers.local.exec = "LOCAL-EXEC"; }};
  show = m: if builtins.isPath m then toString m else if builtins.isString m then m else "values";
in
{{
  providers = evaluated.providers;
  resources = builtins.mapAttrs (_: r: r // {{
    nixos.module.imports = map show r.nixos.module.imports;
    ssh = r.ssh // {{ hostPublicKey = (builtins.tryEval r.ssh.hostPublicKey).value; }};
  }}) evaluated.resources;
}}
"""


def test_deployment_module_declares_one_nixos_resource_per_machine(tmp_path, nix_env):
    doc = sample_document()
    out = nix_eval(nix_env, DEPLOYMENT_EXPR, file=str(write_doc(tmp_path, doc)))

    assert out["providers"] == {"local": "LOCAL-PROVIDER"}
    assert sorted(out["resources"]) == sorted(doc["machines"])
    media = out["resources"]["media"]
    assert media["type"] == "LOCAL-EXEC"
    assert media["imports"] == ["NIXOS-RESOURCE-MODULE"]
    assert media["nixpkgs"] == "NIXPKGS"
    assert media["ssh"] == {
        "host": "media.acme.example",
        "user": "deploy",
        "hostPublicKey": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExampleKey",
        "opts": "-i /keys/panel",
    }
    assert media["nixos"]["module"]["imports"] == [
        "values",
        "values",
        str(SECRETS_MODULE),
        "PROVIDER-MODULE",
    ]
    # A null host key cannot be deployed (nixops4-nixos pins the host key).
    assert out["resources"]["mastodon"]["ssh"]["hostPublicKey"] is False


def test_null_host_key_error_names_the_machine(tmp_path, nix_env):
    expr = DEPLOYMENT_EXPR.replace(
        "(builtins.tryEval r.ssh.hostPublicKey).value", "r.ssh.hostPublicKey"
    )
    path = write_doc(tmp_path, sample_document())
    result = nix(
        nix_env,
        "--eval",
        "--strict",
        "--json",
        "--argstr",
        "file",
        str(path),
        "-E",
        expr,
        check=False,
    )
    assert result.returncode != 0
    assert 'machine "mastodon" of deployment "acme" has no ssh.hostPublicKey' in result.stderr


# --- the flake, with stand-ins for its inputs ------------------------------------------

# flake-parts' mkFlake stand-in: calls the flake module with a tiny `lib` and
# returns what the module defines, so the flake's own logic (reading
# FEDIPANEL_DEPLOYMENT_FILE, naming the deployment) runs for real.
FLAKE_EXPR = f"""
let
  flake = import {NIX_DIR}/flake.nix;
  lib = {{
    optionalAttrs = c: s: if c then s else {{ }};
    concatStringsSep = builtins.concatStringsSep;
  }};
  inputs = {{
    self = {{ }};
    nixpkgs = "NIXPKGS";
    flake-parts.lib.mkFlake = _: module: module {{ inherit lib; }};
    nixops4.modules = {{
      flake.default = "NIXOPS4-FLAKE-MODULE";
      nixops4Provider.local = "LOCAL-PROVIDER";
    }};
    nixops4-nixos.modules.nixops4Resource.nixos = "NIXOS-RESOURCE-MODULE";
  }};
  out = flake.outputs inputs;
  deployments = builtins.mapAttrs (_: m:
    builtins.attrNames (m {{ providers.local.exec = "LOCAL-EXEC"; }}).resources
  ) out.nixops4Deployments;
in
{{
  inherit deployments;
  inherit (out) imports systems;
  status = out.flake.fedipanelStatus;
  inputNames = builtins.attrNames flake.inputs;
}}
"""


def test_flake_reads_the_document_named_by_the_environment(tmp_path, nix_env):
    path = write_doc(tmp_path, sample_document())
    env = nix_env | {"FEDIPANEL_DEPLOYMENT_FILE": str(path)}
    out = nix_eval(env, FLAKE_EXPR)

    assert out["deployments"] == {"acme": ["mastodon", "media"]}
    assert out["imports"] == ["NIXOPS4-FLAKE-MODULE"]
    assert out["status"] == "deployment acme, generation 3, machines: mastodon, media"
    assert out["inputNames"] == ["flake-parts", "nixops4", "nixops4-nixos", "nixpkgs"]


def test_flake_without_document_declares_no_deployment(nix_env):
    env = {k: v for k, v in nix_env.items() if k != "FEDIPANEL_DEPLOYMENT_FILE"}
    out = nix_eval(env, FLAKE_EXPR)
    assert out["deployments"] == {}
    assert out["status"] == "FEDIPANEL_DEPLOYMENT_FILE is not set"


def test_flake_with_invalid_document_fails_with_the_validation_message(tmp_path, nix_env):
    path = write_doc(tmp_path, sample_document() | {"format": "other"})
    env = nix_env | {"FEDIPANEL_DEPLOYMENT_FILE": str(path)}
    result = nix(env, "--eval", "--strict", "--json", "-E", FLAKE_EXPR, check=False)
    assert result.returncode != 0
    assert 'unsupported format "other"' in result.stderr


def test_flake_inputs_are_pinned_to_the_nixops4_deployments_api():
    text = (NIX_DIR / "flake.nix").read_text()
    assert re.search(r'nixops4\.url = "github:nixops4/nixops4/[0-9a-f]{40}"', text)
    assert re.search(r'nixops4-nixos\.url = "github:nixops4/nixops4-nixos/[0-9a-f]{40}"', text)


# --- syntax of every .nix file -----------------------------------------------------------


@pytest.mark.parametrize(
    "path", sorted(NIX_DIR.rglob("*.nix")), ids=lambda p: str(p.relative_to(NIX_DIR))
)
def test_nix_file_parses(path, nix_env):
    nix(nix_env, "--parse", str(path))


# --- the NixOS module, against a stand-in lib/config/pkgs -------------------------------

MODULE_EXPR = f"""
{{ pixelfed, peertube }}:
let
  lib = {{
    mkIf = condition: content: {{ _type = "if"; inherit condition content; }};
    mkMerge = contents: {{ _type = "merge"; inherit contents; }};
    mkOption = o: o;
    types = {{
      bool = "bool"; str = "str"; int = "int";
      nullOr = t: "nullOr " + t; listOf = t: "listOf " + t;
    }};
    optionals = c: l: if c then l else [ ];
    optionalString = c: s: if c then s else "";
    concatStringsSep = builtins.concatStringsSep;
    # As nixpkgs' lib.strings: safe words stay bare, anything else is single-quoted.
    escapeShellArgs = args: builtins.concatStringsSep " " (map (a:
      if builtins.match "[[:alnum:],._+:@%/-]+" a != null then a
      else "'" + builtins.replaceStrings [ "'" ] [ "'\\''" ] a + "'") args);
  }};
  pkgs = {{
    coreutils = "COREUTILS";
    diffutils = "DIFFUTILS";
    findutils = "FINDUTILS";
    util-linux = "UTIL-LINUX";
    writeShellScriptBin = name: _: "SCRIPT-" + name;
    writeShellApplication = a: {{ inherit (a) name runtimeInputs text; }};
  }};
  config = {{
    services.pixelfed.enable = pixelfed == "1";
    services.peertube.enable = peertube == "1";
    services.peertube.group = "PTGROUP";
    systemd.package = "SYSTEMD";
    fedipanel = {{
      secrets.enable = true;
      deployment = {{ name = "acme"; generation = 3; machine = "m"; }};
      wipe = {{ extraUnits = [ "backup-agent*" ]; extraPaths = [ "/srv/extra" ]; journal = true; }};
    }};
  }};
  module = import {SECRETS_MODULE} {{ inherit config lib pkgs; }};
  wipe = import (builtins.head module.imports) {{ inherit config lib pkgs; }};
  flatten = v:
    if (v._type or null) == "merge" then builtins.concatMap flatten v.contents
    else if (v._type or null) == "if" then (if v.condition then flatten v.content else [ ])
    else [ v ];
  defs = flatten module.config;
  services = builtins.foldl' (acc: d: acc // builtins.mapAttrs
    (n: s: (acc.${{n}} or {{ }}) // s) (d.systemd.services or {{ }})) {{ }} defs;
in
{{
  options = builtins.attrNames module.options.fedipanel;
  inherit services;
  tmpfiles = builtins.concatMap (d: d.systemd.tmpfiles.rules or [ ]) defs;
  etc = builtins.concatMap (d: builtins.attrNames (d.environment.etc or {{ }})) defs;
  imports = map toString module.imports;
  wipe = {{
    options = builtins.attrNames wipe.options.fedipanel.wipe;
    packages = wipe.config.environment.systemPackages;
  }};
}}
"""


def eval_module(env: dict[str, str], *, pixelfed: bool, peertube: bool) -> dict:
    return nix_eval(
        env, MODULE_EXPR, pixelfed="1" if pixelfed else "0", peertube="1" if peertube else "0"
    )


def test_module_orders_the_unit_before_the_nixpkgs_service_units(nix_env):
    out = eval_module(nix_env, pixelfed=True, peertube=True)
    unit = out["services"]["fedipanel-secrets"]

    assert unit["before"] == [
        "pixelfed-data-setup.service",
        "phpfpm-pixelfed.service",
        "pixelfed-horizon.service",
        "peertube.service",
    ]
    assert unit["wantedBy"] == ["multi-user.target"]
    assert unit["serviceConfig"]["Type"] == "oneshot"
    assert unit["serviceConfig"]["RemainAfterExit"] is True
    assert unit["restartTriggers"] == ["3"]
    for reader in ["pixelfed-data-setup", "peertube"]:
        assert out["services"][reader] == {
            "wants": ["fedipanel-secrets.service"],
            "after": ["fedipanel-secrets.service"],
        }
    assert "d /var/lib/fedipanel/keys 0700 root root - -" in out["tmpfiles"]
    assert out["etc"] == ["fedipanel/deployment.json"]
    assert sorted(out["options"]) == ["deployment", "secrets"]


def test_module_without_pixelfed_or_peertube_adds_no_unit(nix_env):
    out = eval_module(nix_env, pixelfed=False, peertube=False)
    assert out["services"] == {}


def test_module_with_pixelfed_only(nix_env):
    out = eval_module(nix_env, pixelfed=True, peertube=False)
    assert sorted(out["services"]) == ["fedipanel-secrets", "pixelfed-data-setup"]
    script = out["services"]["fedipanel-secrets"]["script"]
    assert "pixelfed.env" in script
    assert "peertube" not in script


# --- the secrets script, run against a temporary directory --------------------------------

STUB_INSTALL = """#!/bin/sh
# install -d [-m MODE] [-o U] [-g G] DIR...: without changing owners.
mode=""
while [ $# -gt 0 ]; do
  case "$1" in
    -d) ;;
    -m) mode="$2"; shift ;;
    -o|-g) shift ;;
    *) mkdir -p "$1"; [ -z "$mode" ] || chmod "$mode" "$1" ;;
  esac
  shift
done
"""
STUB_CHOWN = '#!/bin/sh\necho "chown $*" >> "$STUB_LOG"\n'
STUB_SYSTEMCTL = """#!/bin/sh
echo "systemctl $*" >> "$STUB_LOG"
if [ "$1" = is-active ]; then exit "${STUB_ACTIVE:-3}"; fi
exit 0
"""


class SecretsScript:
    def __init__(self, script: str, root: Path) -> None:
        self.base = root / "var-lib-fedipanel"
        self.keys = self.base / "keys"
        self.secrets = self.base / "secrets"
        self.log = root / "stub.log"
        bin_dir = root / "bin"
        bin_dir.mkdir()
        for name, text in [
            ("install", STUB_INSTALL),
            ("chown", STUB_CHOWN),
            ("systemctl", STUB_SYSTEMCTL),
        ]:
            (bin_dir / name).write_text(text)
            (bin_dir / name).chmod(0o755)
        self.path = f"{bin_dir}:{os.environ.get('PATH', '/usr/bin:/bin')}"
        self.file = root / "fedipanel-secrets.sh"
        self.file.write_text(script.replace("/var/lib/fedipanel", str(self.base)))

    def run(self, *, active: bool = False) -> str:
        self.log.write_text("")
        env = {
            "PATH": self.path,
            "STUB_LOG": str(self.log),
            "STUB_ACTIVE": "0" if active else "3",
        }
        result = subprocess.run(
            ["bash", str(self.file)],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        return self.log.read_text()

    def read(self, name: str) -> str:
        return (self.secrets / name).read_text()

    def mode(self, name: str) -> int:
        return stat.S_IMODE((self.secrets / name).stat().st_mode)


@pytest.fixture
def secrets_script(tmp_path: Path, nix_env: dict[str, str]) -> SecretsScript:
    if shutil.which("bash") is None:
        pytest.skip("bash not installed")
    out = eval_module(nix_env, pixelfed=True, peertube=True)
    return SecretsScript(out["services"]["fedipanel-secrets"]["script"], tmp_path)


def test_secrets_are_generated_and_assembled(secrets_script):
    s = secrets_script
    s.keys.mkdir(parents=True)
    (s.keys / "pixelfed-s3.env").write_text("AWS_SECRET_ACCESS_KEY=pf-secret")  # no newline
    (s.keys / "peertube-smtp.env").write_text("PEERTUBE_SMTP_PASSWORD=pt-mail\n")
    (s.keys / "mastodon-s3.env").write_text("AWS_SECRET_ACCESS_KEY=masto\n")
    log = s.run()

    app_key = s.read("pixelfed-app-key.env")
    match = re.fullmatch(r"APP_KEY=base64:([A-Za-z0-9+/=]+)\n", app_key)
    assert match
    assert len(base64.b64decode(match.group(1))) == 32
    assert s.read("pixelfed.env") == app_key + "\nAWS_SECRET_ACCESS_KEY=pf-secret\n"

    assert re.fullmatch(r"[0-9a-f]{64}\n", s.read("peertube-secrets"))
    password = s.read("peertube-root-password.env")
    assert re.fullmatch(r"PT_INITIAL_ROOT_PASSWORD=[A-Za-z0-9_-]{32}\n", password)
    assert s.read("peertube.env") == password + "\nPEERTUBE_SMTP_PASSWORD=pt-mail\n\n"
    assert "masto" not in s.read("pixelfed.env") + s.read("peertube.env")

    for name in [
        "pixelfed-app-key.env",
        "pixelfed.env",
        "peertube-root-password.env",
        "peertube.env",
    ]:
        assert s.mode(name) == 0o400, name
    # PeerTube's start script cats this file as the peertube user.
    assert s.mode("peertube-secrets") == 0o440
    assert re.search(r"chown root:PTGROUP \S+/peertube-secrets\.\w+", log)
    assert stat.S_IMODE(s.keys.stat().st_mode) == 0o700
    assert stat.S_IMODE(s.secrets.stat().st_mode) == 0o711
    # Nothing was running: nothing restarted.
    assert "restart" not in log
    # No temporary files left behind.
    assert sorted(p.name for p in s.secrets.iterdir()) == [
        "peertube-root-password.env",
        "peertube-secrets",
        "peertube.env",
        "pixelfed-app-key.env",
        "pixelfed.env",
    ]


def test_generated_secrets_are_never_overwritten(secrets_script):
    s = secrets_script
    s.secrets.mkdir(parents=True)
    (s.secrets / "pixelfed-app-key.env").write_text("APP_KEY=base64:existing\n")
    s.run()
    first = {name: s.read(name) for name in ["peertube-secrets", "peertube-root-password.env"]}

    log = s.run(active=True)

    assert s.read("pixelfed-app-key.env") == "APP_KEY=base64:existing\n"
    assert s.read("pixelfed.env") == "APP_KEY=base64:existing\n\n"
    for name, content in first.items():
        assert s.read(name) == content
    # Unchanged content: running services are left alone.
    assert "restart" not in log


def test_new_panel_keys_restart_running_services(secrets_script):
    s = secrets_script
    s.run()
    (s.keys / "pixelfed-mail.env").write_text("MAIL_PASSWORD=new\n")
    log = s.run(active=True)

    assert s.read("pixelfed.env").endswith("MAIL_PASSWORD=new\n\n")
    assert (
        "systemctl --no-block restart pixelfed-data-setup.service "
        "phpfpm-pixelfed.service pixelfed-horizon.service"
    ) in log
    assert "systemctl --no-block restart peertube.service" not in log

    (s.keys / "peertube-s3.env").write_text("AWS_SECRET_ACCESS_KEY=x\n")
    log = s.run(active=True)
    assert "systemctl --no-block restart peertube.service" in log
    assert "pixelfed-data-setup" not in log


# --- fedipanel-wipe, run against a temporary root -----------------------------------------

STUB_WIPE_SYSTEMCTL = """#!/bin/sh
# Loaded units: $STUB_UNITS; active ones: lines of $STUB_STATE; stop fails for $STUB_STOP_FAILS.
echo "systemctl $*" >> "$STUB_LOG"
command="$1"; shift
while [ "${1#-}" != "$1" ]; do shift; done
case "$command" in
  list-units) for unit in $STUB_UNITS; do echo "$unit loaded active running x"; done ;;
  is-active) grep -qx -- "$1" "$STUB_STATE" ;;
  stop)
    case " $STUB_STOP_FAILS " in *" $1 "*) echo "Job for $1 failed." >&2; exit 1 ;; esac
    grep -vx -- "$1" "$STUB_STATE" > "$STUB_STATE.new" || true
    mv "$STUB_STATE.new" "$STUB_STATE" ;;
esac
"""
STUB_JOURNALCTL = '#!/bin/sh\necho "journalctl $*" >> "$STUB_LOG"\n'


class WipeScript:
    """The module's fedipanel-wipe with its absolute paths moved under a temporary root."""

    def __init__(self, script: str, root: Path) -> None:
        self.root = root / "machine"
        self.log = root / "stub.log"
        self.state = root / "active-units"
        bin_dir = root / "bin"
        bin_dir.mkdir()
        for name, text in [("systemctl", STUB_WIPE_SYSTEMCTL), ("journalctl", STUB_JOURNALCTL)]:
            (bin_dir / name).write_text(text)
            (bin_dir / name).chmod(0o755)
        self.path = f"{bin_dir}:{os.environ.get('PATH', '/usr/bin:/bin')}"
        self.file = root / "fedipanel-wipe"
        self.file.write_text(re.sub(r"(?<=[\s'])/(var|run|srv)/", f"{self.root}/\\1/", script))

    def machine(self, *paths: str) -> None:
        """Lay out a machine that served an operator: these files exist, these units run."""
        for path in paths:
            target = self.root / path.lstrip("/")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text("operator data\n")
        self.state.write_text("mastodon-web.service\npostgresql.service\n")

    def run(self, stop_fails: str = "") -> subprocess.CompletedProcess[str]:
        self.log.write_text("")
        env = {
            "PATH": self.path,
            "STUB_LOG": str(self.log),
            "STUB_STATE": str(self.state),
            "STUB_UNITS": "mastodon-web.service mastodon.target postgresql.service",
            "STUB_STOP_FAILS": stop_fails,
        }
        return subprocess.run(
            ["bash", str(self.file)], env=env, capture_output=True, text=True, timeout=60
        )

    def exists(self, path: str) -> bool:
        return (self.root / path.lstrip("/")).exists()


MACHINE = (
    "/var/lib/mastodon/public-system/media/avatar.png",
    "/var/lib/postgresql/16/base/1/1259",
    "/var/lib/redis-mastodon/dump.rdb",
    "/var/lib/fedipanel/keys/mastodon-s3.env",
    "/var/lib/fedipanel/secrets/pixelfed-app-key.env",
    "/var/lib/acme/mastodon.acme.example/key.pem",
    "/var/log/nginx/access.log",
    "/srv/extra/upload.bin",
)


@pytest.fixture
def wipe_script(tmp_path: Path, nix_env: dict[str, str]) -> WipeScript:
    if shutil.which("bash") is None:
        pytest.skip("bash not installed")
    out = eval_module(nix_env, pixelfed=False, peertube=False)
    (package,) = out["wipe"]["packages"]
    return WipeScript(package["text"], tmp_path)


def test_module_installs_fedipanel_wipe_on_every_machine(nix_env):
    for pixelfed, peertube in [(False, False), (True, True)]:
        out = eval_module(nix_env, pixelfed=pixelfed, peertube=peertube)
        assert out["imports"] == [str(WIPE_MODULE), str(MAIL_MODULE), str(ADMIN_MODULE)]
        (package,) = out["wipe"]["packages"]
        assert package["name"] == "fedipanel-wipe"
        assert package["runtimeInputs"] == ["COREUTILS", "FINDUTILS", "UTIL-LINUX", "SYSTEMD"]
    assert sorted(out["wipe"]["options"]) == ["extraPaths", "extraUnits", "journal"]


def test_wipe_stops_the_services_removes_their_data_and_secrets_and_says_so(wipe_script):
    w = wipe_script
    w.machine(*MACHINE)
    result = w.run()
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[:2] == ["stopped mastodon-web.service", "stopped postgresql.service"]
    for path in (
        "/var/lib/mastodon",
        "/var/lib/redis-mastodon",
        "/var/lib/postgresql",
        "/var/lib/acme",
        "/var/log/nginx",
        "/var/lib/fedipanel",
        "/srv/extra",
    ):
        assert f"removed {w.root}{path}" in lines
        assert not w.exists(path)
    assert "removed the journal" in lines
    assert lines[-1] == "fedipanel-wipe: done"
    log = w.log.read_text()
    # The patterns reach systemctl unexpanded, the provider's extra ones included.
    assert "list-units --all --plain --no-legend --full -- mastodon* pixelfed*" in log
    assert "fedipanel-secrets* postfix* opendkim* fedipanel-dkim-key* backup-agent*" in log
    assert "journalctl --vacuum-time=1s" in log
    assert "stop -- mastodon.target" not in log  # inactive: left alone


def test_wipe_is_safe_to_run_twice(wipe_script):
    w = wipe_script
    w.machine(*MACHINE)
    assert w.run().returncode == 0
    again = w.run()
    assert again.returncode == 0, again.stderr
    assert again.stdout.splitlines() == ["removed the journal", "fedipanel-wipe: done"]


def test_wipe_that_cannot_stop_a_unit_says_so_and_does_not_confirm(wipe_script):
    w = wipe_script
    w.machine(*MACHINE)
    result = w.run(stop_fails="postgresql.service")
    assert result.returncode == 1
    assert "fedipanel-wipe: could not stop postgresql.service" in result.stderr
    assert "fedipanel-wipe: done" not in result.stdout
    assert not w.exists("/var/lib/fedipanel")  # the rest is wiped all the same
