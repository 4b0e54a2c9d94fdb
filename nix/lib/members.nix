# FediPanel deployment document -> NixOps4 members.
#
# A PURE function: it uses only `builtins` (no nixpkgs, no fetching, no
# environment, no clock) so that the panel's test-suite can evaluate it with a
# bare `nix-instantiate` and so that the flake can call it before any input is
# fetched.
#
# Input: the parsed deployment document (format "fedipanel.deployment/1", see
# the section "Deployment JSON" of the design document):
#
#   { format = "fedipanel.deployment/1"; deployment = "acme"; generation = 3;
#     machines.<name> = { ssh = { host; user; hostPublicKey; }; nixos = { ... }; }; }
#
# Output (`membersOf doc`): one member per machine, keyed by machine name:
#
#   <name> = {
#     name        = "<name>";
#     deployment  = "<slug>";
#     generation  = <int>;
#     ssh         = { host = "..."; user = "root" | null; hostPublicKey = "..." | null; };
#     nixos       = <the machine's nixos values, unchanged>;
#     modules     = [ <nixos values as a module> <metadata module> <projectModule> ];
#   }
#
# Invalid documents `throw` with a message that starts with
# "fedipanel deployment document" and lists every problem found.
let
  inherit (builtins)
    attrNames
    concatMap
    concatStringsSep
    isAttrs
    isInt
    isString
    mapAttrs
    match
    toJSON
    typeOf
    ;

  formatVersion = "fedipanel.deployment/1";

  # The project's NixOS module, imported on every machine.
  projectModule = ../modules/fedipanel-secrets.nix;

  what = "fedipanel deployment document";

  describe = v: if isString v then toJSON v else typeOf v;

  # The operator's slug: lowercase letters, digits and hyphens (not leading,
  # so that it can never be mistaken for a command-line option).
  isSlug = s: isString s && match "[a-z0-9][a-z0-9-]*" s != null;
  # Machine names become NixOps4 resource names.
  isMachineName = s: match "[A-Za-z0-9][A-Za-z0-9_-]*" s != null;
  isNonEmptyString = s: isString s && s != "";

  # Check that `set.${key}` exists and satisfies `pred`; return a list of
  # error strings (empty when fine).
  check =
    loc: set: key: pred: expected:
    if !(set ? ${key}) then
      [ "${loc}${key}: missing (expected ${expected})" ]
    else if !(pred set.${key}) then
      [ "${loc}${key}: expected ${expected}, got ${describe set.${key}}" ]
    else
      [ ];

  machineErrors =
    name: m:
    let
      loc = "machines.${name}.";
    in
    (if isMachineName name then
      [ ]
    else
      [ "machines: invalid machine name ${toJSON name} (letters, digits, '-' and '_')" ])
    ++ (
      if !(isAttrs m) then
        [ "machines.${name}: expected an object, got ${typeOf m}" ]
      else
        check loc m "ssh" isAttrs "an object {host, user, hostPublicKey}"
        ++ check loc m "nixos" isAttrs "an object of NixOS option values"
        ++ (
          if isAttrs (m.ssh or null) then
            check "${loc}ssh." m.ssh "host" isNonEmptyString "a non-empty string"
            ++ check "${loc}ssh." m.ssh "user" (
              u: u == null || isNonEmptyString u
            ) "a non-empty string or null"
            ++ check "${loc}ssh." m.ssh "hostPublicKey" (
              k: k == null || isNonEmptyString k
            ) "a string or null"
          else
            [ ]
        )
    );

  documentErrors =
    doc:
    check "" doc "deployment" isSlug "the operator's slug (lowercase letters, digits, '-')"
    ++ check "" doc "generation" isInt "an integer"
    ++ check "" doc "machines" isAttrs "an object mapping machine names to machines"
    ++ (
      if isAttrs (doc.machines or null) then
        concatMap (name: machineErrors name doc.machines.${name}) (attrNames doc.machines)
      else
        [ ]
    );

  # Returns the document unchanged when valid, throws otherwise.
  validate =
    doc:
    if !(isAttrs doc) then
      throw "${what}: expected a JSON object, got ${typeOf doc}"
    else if (doc.format or null) != formatVersion then
      throw "${what}: unsupported format ${
        if doc ? format then describe doc.format else "(missing)"
      }, expected ${toJSON formatVersion}"
    else
      let
        errors = documentErrors doc;
      in
      if errors == [ ] then
        doc
      else
        throw "${what} is invalid:\n  - ${concatStringsSep "\n  - " errors}";

  memberOf =
    doc: name: m:
    let
      origin = "fedipanel deployment ${doc.deployment}, machine ${name}";
    in
    {
      inherit name;
      inherit (doc) deployment generation;
      ssh = {
        inherit (m.ssh) host user hostPublicKey;
      };
      nixos = m.nixos;
      modules = [
        # The machine's NixOS option values, exactly as the panel wrote them.
        # Wrapped in `config` so that keys such as "imports" or "options"
        # can never be smuggled in as module structure.
        {
          _file = "${origin} (nixos values)";
          config = m.nixos;
        }
        # Non-secret metadata, consumed by the project's module.
        {
          _file = "${origin} (metadata)";
          config.fedipanel.deployment = {
            name = doc.deployment;
            inherit (doc) generation;
            machine = name;
          };
        }
        projectModule
      ];
    };

  membersOf =
    doc:
    let
      valid = validate doc;
    in
    mapAttrs (memberOf valid) valid.machines;

  # Names of the machines, for callers that only need the list.
  machineNames = doc: attrNames (validate doc).machines;

in
{
  inherit
    formatVersion
    projectModule
    validate
    membersOf
    machineNames
    ;
}
