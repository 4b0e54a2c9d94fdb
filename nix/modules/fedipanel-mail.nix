# Mail on every machine: OpenDKIM gets the operator's key, Postfix may use OpenDKIM.
#
# With a mail relay configured, the panel's NixOS values enable services.postfix
# (loopback-only, relaying over verified TLS, every message through OpenDKIM's
# milter) and services.opendkim (the key's selector, `csl:<operator domain>`).
# The panel delivers two secrets into /var/lib/fedipanel/keys (root, 0400):
#
#   dkim.private          the operator's DKIM private key (PEM)
#   smtp-sasl-passwords   Postfix's password map for the relay (texthash:, read
#                         by Postfix as root before it drops privileges)
#
# OpenDKIM runs as its own user and refuses a key others can read, and the
# nixpkgs module generates a key of its own when <keyPath>/<selector>.private
# is missing. So fedipanel-dkim-key.service copies the delivered key there,
# owned by OpenDKIM's user with mode 0400, before opendkim.service starts (and
# opendkim.service requires it: without the key nothing is signed, and Postfix's
# milter_default_action = tempfail keeps mail queued rather than unsigned).
#
# OpenDKIM's configuration file adds what its command line cannot say:
#   SubDomains yes   mail from mastodon.acme.example is signed with d=acme.example
#   UMask 0007       the milter socket is usable by OpenDKIM's group, which
#                    Postfix's user joins here
{
  config,
  lib,
  pkgs,
  ...
}:
let
  cfg = config.services.opendkim;
  delivered = "/var/lib/fedipanel/keys/dkim.private";
  keyFile = "${cfg.keyPath}/${cfg.selector}.private";

  script = ''
    set -euo pipefail
    umask 077
    if [ ! -s ${delivered} ]; then
      echo "fedipanel-dkim-key: ${delivered} is missing; the panel delivers it when deploying" >&2
      exit 1
    fi
    install -d -m 0700 -o ${cfg.user} -g ${cfg.group} ${cfg.keyPath}
    if [ -f ${keyFile} ] && cmp -s ${delivered} ${keyFile}; then
      exit 0
    fi
    tmp="$(mktemp ${cfg.keyPath}/.fedipanel-key.XXXXXX)"
    cat ${delivered} > "$tmp"
    chown ${cfg.user}:${cfg.group} "$tmp"
    chmod 0400 "$tmp"
    mv -f "$tmp" ${keyFile}
    echo "fedipanel-dkim-key: installed the key of selector ${cfg.selector}" >&2
    if systemctl is-active --quiet opendkim.service; then
      systemctl --no-block restart opendkim.service
    fi
  '';
in
{
  config = lib.mkIf cfg.enable {
    services.opendkim.configFile = lib.mkDefault (
      pkgs.writeText "fedipanel-opendkim.conf" ''
        SubDomains yes
        UMask 0007
        Canonicalization relaxed/relaxed
        OversignHeaders From
      ''
    );

    users.users.${config.services.postfix.user}.extraGroups = lib.mkIf config.services.postfix.enable [
      cfg.group
    ];

    systemd.services.fedipanel-dkim-key = {
      description = "FediPanel: install the delivered DKIM key for OpenDKIM";
      wantedBy = [ "multi-user.target" ];
      requiredBy = [ "opendkim.service" ];
      before = [ "opendkim.service" ];
      after = [ "local-fs.target" ];
      path = [
        pkgs.coreutils
        pkgs.diffutils
        config.systemd.package
      ];
      # A new deployment generation may bring a new key.
      restartTriggers = [ (toString config.fedipanel.deployment.generation) ];
      stopIfChanged = false;
      serviceConfig = {
        Type = "oneshot";
        RemainAfterExit = true;
        User = "root";
        Group = "root";
        UMask = "0077";
      };
      inherit script;
    };
  };
}
