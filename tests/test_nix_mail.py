"""The project's mail module: OpenDKIM's configuration and the unit that installs the DKIM key."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.test_nix import MAIL_MODULE, nix_env, nix_eval

# Starts programs of its own (nix-instantiate, bash): not in `make test-fast`.
pytestmark = pytest.mark.external
__all__ = ["nix_env"]  # the fixture, used by name

MAIL_EXPR = f"""
{{ postfix }}:
let
  lib = {{
    mkIf = condition: content: if condition then content else {{ }};
    mkDefault = v: {{ _default = v; }};
  }};
  pkgs = {{
    coreutils = "COREUTILS";
    diffutils = "DIFFUTILS";
    writeText = name: text: {{ inherit name text; }};
  }};
  config = {{
    services.opendkim = {{
      enable = true; keyPath = "/var/lib/opendkim/keys"; selector = "fedipanel";
      user = "opendkim"; group = "opendkim";
    }};
    services.postfix = {{ enable = postfix == "1"; user = "postfix"; }};
    systemd.package = "SYSTEMD";
    fedipanel.deployment.generation = 4;
  }};
in
(import {MAIL_MODULE} {{ inherit config lib pkgs; }}).config
"""

STUB = '#!/bin/sh\necho "$(basename "$0") $*" >> "$STUB_LOG"\n'
STUB_INSTALL = '#!/bin/sh\nfor a; do d="$a"; done\nmkdir -p "$d"\n'


def test_opendkim_signs_subdomains_and_postfix_joins_its_group(nix_env: dict[str, str]) -> None:
    config = nix_eval(nix_env, MAIL_EXPR, postfix="1")
    assert isinstance(config, dict)
    conf = config["services"]["opendkim"]["configFile"]["_default"]
    assert conf["text"].splitlines()[:2] == ["SubDomains yes", "UMask 0007"]
    assert config["users"]["users"] == {"postfix": {"extraGroups": ["opendkim"]}}
    unit = config["systemd"]["services"]["fedipanel-dkim-key"]
    assert unit["requiredBy"] == ["opendkim.service"]
    assert unit["before"] == ["opendkim.service"]
    assert unit["restartTriggers"] == ["4"]


def test_dkim_key_is_copied_for_opendkim_once(nix_env: dict[str, str], tmp_path: Path) -> None:
    if shutil.which("bash") is None:
        pytest.skip("bash not installed")
    config = nix_eval(nix_env, MAIL_EXPR, postfix="0")
    assert isinstance(config, dict)
    script = config["systemd"]["services"]["fedipanel-dkim-key"]["script"]
    root = tmp_path / "root"
    script = script.replace("/var/lib/", f"{root}/var/lib/")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name, text in [("chown", STUB), ("systemctl", STUB), ("install", STUB_INSTALL)]:
        (bin_dir / name).write_text(text)
        (bin_dir / name).chmod(0o755)
    log = tmp_path / "stub.log"
    env = {"PATH": f"{bin_dir}:{os.environ['PATH']}", "STUB_LOG": str(log)}

    def run() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["bash", "-c", script], env=env, capture_output=True, text=True, check=False
        )

    missing = run()
    assert missing.returncode == 1
    assert "dkim.private is missing" in missing.stderr

    delivered = root / "var/lib/fedipanel/keys/dkim.private"
    delivered.parent.mkdir(parents=True)
    delivered.write_text("-----BEGIN PRIVATE KEY-----\nabc\n-----END PRIVATE KEY-----\n")
    first = run()
    assert first.returncode == 0, first.stderr
    installed = root / "var/lib/opendkim/keys/fedipanel.private"
    assert installed.read_text() == delivered.read_text()
    assert installed.stat().st_mode & 0o777 == 0o400
    assert "chown opendkim:opendkim" in log.read_text()

    log.write_text("")
    again = run()
    assert again.returncode == 0, again.stderr
    assert log.read_text() == ""  # unchanged: nothing written, OpenDKIM left alone
