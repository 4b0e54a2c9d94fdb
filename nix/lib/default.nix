# FediPanel's Nix library: pure helpers shared by the flake and the tests.
#
#   let fp = import ./nix/lib; in fp.membersOf (fp.readDeployment "/path/deployment.json")
#
# Nothing here needs nixpkgs or the network.
let
  members = import ./members.nix;

  # Parse a deployment document (`fedipanel.deployment/1`) from a file.
  # `path` may be a path or an absolute path string (e.g. from an environment
  # variable); the file is read in place, never copied to the Nix store.
  readDeployment = path: builtins.fromJSON (builtins.readFile path);
in
{
  inherit readDeployment;
  inherit (members)
    formatVersion
    projectModule
    validate
    membersOf
    machineNames
    ;

  # Read, validate and convert in one step.
  membersFromFile = path: members.membersOf (readDeployment path);
}
