# FediPanel members -> a NixOps4 deployment module (the `nixops4Deployments`
# / `resources` API generation; attribute names and their sources are listed
# in ../flake.nix).
#
# Pure (builtins only): the flake passes in what comes from its inputs, and
# the tests pass in stand-ins, so the mapping can be checked without fetching
# nixpkgs or nixops4.
{
  # inputs.nixops4.modules.nixops4Provider.local
  localProvider,
  # inputs.nixops4-nixos.modules.nixops4Resource.nixos
  nixosResource,
  # inputs.nixpkgs (the flake), passed to the resource's `nixpkgs` option
  nixpkgs,
  # Extra NixOS modules for every machine (the provider's own).
  extraModules ? [ ],
  # Extra options for ssh, e.g. "-i /path/to/key".
  sshOpts ? "",
}:
let
  hostKey =
    member:
    if member.ssh.hostPublicKey != null then
      member.ssh.hostPublicKey
    else
      throw ''
        fedipanel: machine "${member.name}" of deployment "${member.deployment}" has no ssh.hostPublicKey.
        nixops4-nixos connects with StrictHostKeyChecking=yes and needs the machine's SSH host key.
      '';

  # One resource module per member.
  resourceFor = providers: member: {
    type = providers.local.exec;
    imports = [ nixosResource ];
    inherit nixpkgs;
    nixos.module = {
      imports = member.modules ++ extraModules;
    };
    ssh = {
      inherit (member.ssh) host user;
      hostPublicKey = hostKey member;
      opts = sshOpts;
    };
  };
in
{
  inherit resourceFor;

  # members (from ./members.nix) -> deployment module
  deploymentModule =
    members:
    { providers, ... }:
    {
      providers.local = localProvider;
      resources = builtins.mapAttrs (_name: resourceFor providers) members;
    };
}
