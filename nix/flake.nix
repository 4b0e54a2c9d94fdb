# FediPanel's provider flake, consumed by NixOps4.
#
# The panel runs, in this directory and without a shell:
#
#   nixops4 apply --no-interactive <slug>
#
# with FEDIPANEL_DEPLOYMENT_FILE = the path of a `fedipanel.deployment/1`
# JSON document. This flake reads that document and declares
# `nixops4Deployments.<slug>` with one NixOS resource per machine.
# See docs/nix.md for the whole picture.
#
# Attribute names relied on (NixOps4 is pre-release and its Nix API moves;
# these are the names of the `nixops4Deployments` / `resources` generation):
#   - inputs.nixops4.modules.flake.default declares the flake-parts option
#     `nixops4Deployments.<name>` (a deployment module per name) and passes
#     `withResourceProviderSystem` to it
#       [nixops4/nixops4 nix/flake-parts/flake-parts.nix]
#   - a deployment module declares `resources.<name>`, a submodule that gets
#     `resourceProviderSystem` [nixops4/nixops4 nix/deployment/resources.nix]
#   - `providers.local = inputs.nixops4.modules.nixops4Provider.local;` and
#     `type = providers.local.exec;` in each resource, which imports
#     `inputs.nixops4-nixos.modules.nixops4Resource.nixos` and sets
#     `nixpkgs`, `nixos.module`, `ssh.host`, `ssh.opts`, `ssh.hostPublicKey`
#       [nixops4/nixops4-nixos example/deployment.nix and
#        example/flake-module.nix at the pinned revision]
#   - `ssh.user` (nullOr str, default "root"; null = the SSH client's choice)
#       [nixops4/nixops4-nixos modules/nixops4Resource/nixos.nix;
#        exercised by test/default/nixosTest.nix at the pinned revision]
#   - the resource builds `nixpkgs.lib.nixosSystem { modules = [ nixos.module ... ]; }`
#     without `system`, so the configuration sets nixpkgs.hostPlatform
#     (modules/provider.nix) [nixops4/nixops4-nixos modules/nixops4Resource/nixos.nix]
#   - `inputs.nixops4.packages.<system>.default` is the nixops4 CLI
#       [nixops4/nixops4-nixos example/flake-module.nix]
#
# Newer NixOps4 replaces `nixops4Deployments` with a single `nixops4` root
# (`mkRoot`, `members`) and nixops4-nixos then exports
# `modules.nixops4Component.nixos` [nixops4/nixops4
# doc/architecture/009-Single-root-export.md; nixops4/nixops4-nixos
# main-module.nix]. That is why both inputs are pinned to a revision below.
#
# Reading the environment: nixops4-eval builds its evaluator through the Nix
# C API (EvalStateBuilder ... .flakes(...).build(), nixops4/nixops4
# rust/nixops4-eval/src/main.rs) and does not switch to pure evaluation; the
# `nix` CLI is what makes flake evaluation pure (it sets
# evalSettings.pureEval = true itself, NixOS/nix src/nix/main.cc). So
# `builtins.getEnv` and `builtins.readFile` of an absolute path work here,
# unless the provider's nix.conf sets `pure-eval = true` (see docs/nix.md).
{
  description = "FediPanel: NixOS deployments of Fediverse services, driven by the panel";

  inputs = {
    # The NixOS release the machines run. The provider pins the exact
    # revision in flake.lock (`nix flake lock`, `nix flake update nixpkgs`).
    nixpkgs.url = "github:NixOS/nixpkgs/nixos-25.11";

    flake-parts.url = "github:hercules-ci/flake-parts";
    flake-parts.inputs.nixpkgs-lib.follows = "nixpkgs";

    # Pinned to the `nixops4Deployments` API generation (see above). Keep
    # nixops4's own nixpkgs: it builds the nixops4 binaries.
    nixops4.url = "github:nixops4/nixops4/504c65f0a27cb45f2e87c2b8aca84b05da2a3ee1";

    nixops4-nixos.url = "github:nixops4/nixops4-nixos/3034757d19a37274802b215702e7ec34d334219c";
    nixops4-nixos.inputs.nixpkgs.follows = "nixpkgs";
    nixops4-nixos.inputs.flake-parts.follows = "flake-parts";
  };

  outputs =
    inputs@{ flake-parts, ... }:
    flake-parts.lib.mkFlake { inherit inputs; } (
      { lib, ... }:
      let
        fedipanel = import ./lib;

        deploymentFile = builtins.getEnv "FEDIPANEL_DEPLOYMENT_FILE";
        # Optional, provider-side: extra ssh options such as
        # "-i /var/lib/fedipanel/ssh/id_ed25519" (same environment as the panel).
        sshOpts = builtins.getEnv "FEDIPANEL_SSH_OPTS";
        pureEval = !(builtins ? currentSystem);

        doc = fedipanel.validate (fedipanel.readDeployment deploymentFile);
        members = fedipanel.membersOf doc;

        deployment = import ./lib/nixops4.nix {
          localProvider = inputs.nixops4.modules.nixops4Provider.local;
          nixosResource =
            inputs.nixops4-nixos.modules.nixops4Resource.nixos or (throw ''
              fedipanel: the pinned nixops4-nixos has no modules.nixops4Resource.nixos.
              This flake targets the nixops4Deployments/resources API; see docs/nix.md.
            '');
          nixpkgs = inputs.nixpkgs;
          extraModules = [ ./modules/provider.nix ];
          inherit sshOpts;
        };
      in
      {
        imports = [ inputs.nixops4.modules.flake.default ];

        systems = [
          "x86_64-linux"
          "aarch64-linux"
        ];

        # Without a document (e.g. `nix flake show`, which evaluates purely)
        # there is no deployment; `flake.fedipanelStatus` says why.
        nixops4Deployments = lib.optionalAttrs (deploymentFile != "") {
          ${doc.deployment} = deployment.deploymentModule members;
        };

        flake = {
          lib = fedipanel;
          nixosModules.fedipanel-secrets = ./modules/fedipanel-secrets.nix;
          # Also for the provider's pool VMs' own configuration, so that a VM has
          # `fedipanel-wipe` before any deployment reached it.
          nixosModules.fedipanel-wipe = ./modules/fedipanel-wipe.nix;
          nixosModules.provider = ./modules/provider.nix;
          fedipanelStatus =
            if deploymentFile != "" then
              "deployment ${doc.deployment}, generation ${toString doc.generation}, machines: ${lib.concatStringsSep ", " (builtins.attrNames members)}"
            else if pureEval then
              "pure evaluation: FEDIPANEL_DEPLOYMENT_FILE cannot be read (see docs/nix.md)"
            else
              "FEDIPANEL_DEPLOYMENT_FILE is not set";
        };

        perSystem =
          { pkgs, system, ... }:
          {
            # The nixops4 matching the pinned library: point the panel's
            # FEDIPANEL_NIXOPS4 at `nix build .#nixops4`'s bin/nixops4.
            packages.nixops4 = inputs.nixops4.packages.${system}.default;
            devShells.default = pkgs.mkShellNoCC {
              packages = [ inputs.nixops4.packages.${system}.default ];
            };
          };
      }
    );
}
