"""The administrator-account module (nix/modules/fedipanel-admin.nix), evaluated with
`nix-instantiate` against small stand-ins for nixpkgs' lib and packages."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.test_nix import NIX_DIR, nix_env, nix_eval  # noqa: F401 - nix_env is a fixture

pytestmark = pytest.mark.external

MODULE = NIX_DIR / "modules" / "fedipanel-admin.nix"
REFERENCE = Path(__file__).parent / "reference" / "nixos_options_subset.json"

EXPR = f"""
{{ services }}:
let
  enabled = builtins.filter (s: s != "") (builtins.split "," services);
  on = name: builtins.elem name enabled;
  recursiveUpdate = a: b: a // builtins.mapAttrs (n: v:
    if builtins.isAttrs v && builtins.isAttrs (a.${{n}} or null)
    then recursiveUpdate a.${{n}} v
    else v) b;
  lib = {{
    mkIf = condition: content: {{ _type = "if"; inherit condition content; }};
    mkMerge = contents: {{ _type = "merge"; inherit contents; }};
    mkOption = o: o;
    types = {{ str = "types.str"; int = "types.int"; nullOr = t: "types.nullOr " + t; }};
    inherit recursiveUpdate;
  }};
  pkgs = {{
    coreutils = "COREUTILS"; curl = "CURL"; jq = "JQ"; gnused = "GNUSED";
    writeShellScriptBin = name: text: {{ inherit name text; }};
  }};
  config = {{
    fedipanel.admin = {{ username = "alice"; email = "alice@acme.example"; rotation = 2; }};
    services.mastodon = {{
      enable = on "mastodon"; user = "mastodon"; group = "mastodon"; package = "MASTODON";
    }};
    services.pixelfed = {{ enable = on "pixelfed"; user = "pixelfed"; group = "pixelfed"; }};
    services.peertube = {{ enable = on "peertube"; listenHttp = 9000; }};
    systemd.package = "SYSTEMD";
    systemd.services.mastodon-web = {{
      environment = {{ RAILS_ENV = "production"; PATH = "MASTODON-PATH"; }};
      serviceConfig.EnvironmentFile = [ "/var/lib/mastodon/.secrets_env" ];
    }};
  }};
  module = import {MODULE} {{ inherit config lib pkgs; }};
  flatten = v:
    if (v._type or null) == "merge" then builtins.concatMap flatten v.contents
    else if (v._type or null) == "if" then (if v.condition then flatten v.content else [ ])
    else [ v ];
  defs = flatten module.config;
in
{{
  options = builtins.mapAttrs (_: o: {{ inherit (o) type default; }})
    module.options.fedipanel.admin;
  units = builtins.foldl' (acc: d: acc // (d.systemd.services or {{ }})) {{ }} defs;
  commands = builtins.concatMap (d: d.environment.systemPackages or [ ]) defs;
}}
"""


def evaluate(env: dict[str, str], *services: str) -> dict:
    out = nix_eval(env, EXPR, services=",".join(services))
    assert isinstance(out, dict)
    return out


def test_the_options_are_those_the_reference_lists(nix_env: dict[str, str]) -> None:  # noqa: F811
    reference = json.loads(REFERENCE.read_text())
    declared = evaluate(nix_env)["options"]
    listed = {
        key.removeprefix("fedipanel.admin."): {"type": value["type"], "default": value["default"]}
        for key, value in reference.items()
        if key.startswith("fedipanel.admin.")
    }
    assert declared == listed


def test_one_unit_per_enabled_service_reading_the_delivered_password(
    nix_env: dict[str, str],  # noqa: F811
) -> None:
    out = evaluate(nix_env, "mastodon", "peertube")
    assert sorted(out["units"]) == ["fedipanel-admin-mastodon", "fedipanel-admin-peertube"]
    for service in ("mastodon", "peertube"):
        unit = out["units"][f"fedipanel-admin-{service}"]
        config = unit["serviceConfig"]
        assert config["Type"] == "oneshot"
        assert config["LoadCredential"] == (
            f"password:/var/lib/fedipanel/keys/{service}-admin-password"
        )
        # A new username, email or password generation re-runs the unit at activation.
        assert unit["restartTriggers"] == ["alice", "alice@acme.example", "2"]
        assert unit["environment"]["FEDIPANEL_ADMIN_USERNAME"] == "alice"
        assert unit["wantedBy"] == ["multi-user.target"]
    mastodon = out["units"]["fedipanel-admin-mastodon"]
    assert mastodon["serviceConfig"]["User"] == "mastodon"
    assert mastodon["environment"]["RAILS_ENV"] == "production"
    assert "PATH" not in mastodon["environment"]
    script = mastodon["script"]
    assert 'accounts create "$user" --email "$FEDIPANEL_ADMIN_EMAIL"' in script
    assert "--confirmed --role Owner > /dev/null" in script
    assert "rails runner" in script
    peertube = out["units"]["fedipanel-admin-peertube"]["script"]
    assert "http://127.0.0.1:9000/api/v1" in peertube
    assert '"password@$run/root"' in peertube
    assert [c["name"] for c in out["commands"]] == ["fedipanel-admin"]


def test_pixelfed_uses_its_artisan_commands(nix_env: dict[str, str]) -> None:  # noqa: F811
    out = evaluate(nix_env, "pixelfed")
    assert sorted(out["units"]) == ["fedipanel-admin-pixelfed"]
    script = out["units"]["fedipanel-admin-pixelfed"]["script"]
    assert "pixelfed-manage user:create --no-interaction" in script
    assert "--is_admin=1 --confirm_email=1" in script
    assert 'file_get_contents(getenv("CREDENTIALS_DIRECTORY") . "/password")' in script


def test_no_service_no_unit_but_the_command(nix_env: dict[str, str]) -> None:  # noqa: F811
    out = evaluate(nix_env)
    assert out["units"] == {}
    assert [c["name"] for c in out["commands"]] == ["fedipanel-admin"]
