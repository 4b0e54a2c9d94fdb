# `fedipanel-wipe`: bring a machine back to an empty state before another
# operator gets it. Imported on every machine by fedipanel-secrets.nix.
#
# The panel runs it over SSH (root, the operator's deploy key, the recorded
# host key) on a VM from the provider's pool of pre-deployed VMs before that
# VM goes back to the pool. It
#
#   1. stops the units of the services and of everything holding their data:
#      Mastodon, Pixelfed (php-fpm pool included), PeerTube, their Redis
#      servers, PostgreSQL, MySQL, nginx, the ACME renewals and
#      fedipanel-secrets (timers too, so nothing starts again meanwhile);
#   2. removes their state: the databases (/var/lib/postgresql,
#      /var/lib/mysql, /var/lib/redis-*), the services' state directories
#      (media, caches, uploads), the ACME certificates and account, nginx's
#      cache and logs, and FediPanel's secrets (/var/lib/fedipanel: keys the
#      panel delivered, secrets generated on the machine);
#   3. rotates and vacuums the journal, which holds the services' logs;
#   4. prints `stopped <unit>` and `removed <path>` for each thing it did,
#      then the line `fedipanel-wipe: done`.
#
# It is safe to run twice: what is stopped or gone already is skipped. When a
# unit cannot be stopped or a path cannot be removed it says so on standard
# error, goes on with the rest, and exits 1 without the last line: the panel
# then sets the VM aside ("needs attention") instead of handing it out. A path
# that is a mount point is emptied, not removed. The next deployment (or a
# reboot) starts the services again on empty databases, as on a new machine.
{
  config,
  lib,
  pkgs,
  ...
}:
let
  inherit (lib) mkOption types;

  cfg = config.fedipanel.wipe;

  # Unit name patterns (systemctl's globs) of what holds an operator's data.
  units = [
    "mastodon*"
    "pixelfed*"
    "phpfpm-pixelfed*"
    "peertube*"
    "redis-mastodon*"
    "redis-pixelfed*"
    "redis-peertube*"
    "postgresql*"
    "mysql*"
    "nginx*"
    "acme-*"
    "fedipanel-secrets*"
    "postfix*"
    "opendkim*"
    "fedipanel-dkim-key*"
  ]
  ++ cfg.extraUnits;

  paths = [
    "/var/lib/mastodon"
    "/var/lib/pixelfed"
    "/run/pixelfed"
    "/var/lib/peertube"
    "/var/lib/redis-mastodon"
    "/var/lib/redis-pixelfed"
    "/var/lib/redis-peertube"
    "/var/lib/postgresql"
    "/var/lib/mysql"
    "/var/lib/acme"
    "/var/cache/nginx"
    "/var/log/nginx"
    "/var/lib/fedipanel"
    # The DKIM key's copy, and mail still queued for the operator's users.
    "/var/lib/opendkim"
    "/var/lib/postfix"
  ]
  ++ cfg.extraPaths;

  script = ''
    set -euo pipefail
    failed=0

    # Loaded units matching the patterns, stopped one by one so that each
    # failure is named.
    mapfile -t found < <(
      systemctl list-units --all --plain --no-legend --full -- ${lib.escapeShellArgs units} \
        | cut -d ' ' -f 1
    )
    for unit in "''${found[@]}"; do
      [ -n "$unit" ] || continue
      if ! systemctl is-active --quiet -- "$unit"; then
        continue
      fi
      if systemctl stop -- "$unit"; then
        echo "stopped $unit"
      else
        echo "fedipanel-wipe: could not stop $unit" >&2
        failed=1
      fi
    done

    # Remove a path (empty it when it is a mount point); say so when
    # something was there.
    wipe_path() {
      local path="$1"
      if [ ! -e "$path" ] && [ ! -L "$path" ]; then
        return 0
      fi
      if [ -d "$path" ] && [ ! -L "$path" ] && mountpoint -q -- "$path"; then
        if [ -z "$(ls -A -- "$path")" ]; then
          return 0
        fi
        find "$path" -mindepth 1 -maxdepth 1 -exec rm -rf -- {} + || true
        if [ -z "$(ls -A -- "$path")" ]; then
          echo "removed $path/*"
          return 0
        fi
      else
        rm -rf -- "$path" || true
        if [ ! -e "$path" ] && [ ! -L "$path" ]; then
          echo "removed $path"
          return 0
        fi
      fi
      echo "fedipanel-wipe: could not remove $path" >&2
      return 1
    }
    for path in ${lib.escapeShellArgs paths}; do
      wipe_path "$path" || failed=1
    done

    ${lib.optionalString cfg.journal ''
      if journalctl --rotate && journalctl --vacuum-time=1s >/dev/null 2>&1; then
        echo "removed the journal"
      else
        echo "fedipanel-wipe: could not vacuum the journal" >&2
        failed=1
      fi
    ''}
    if [ "$failed" -ne 0 ]; then
      echo "fedipanel-wipe: not everything could be wiped" >&2
      exit 1
    fi
    echo "fedipanel-wipe: done"
  '';
in
{
  options.fedipanel.wipe = {
    extraUnits = mkOption {
      type = types.listOf types.str;
      default = [ ];
      example = [ "my-backup-agent*" ];
      description = "More unit name patterns that fedipanel-wipe stops first.";
    };
    extraPaths = mkOption {
      type = types.listOf types.str;
      default = [ ];
      example = [ "/srv/mastodon" ];
      description = ''
        More paths that hold an operator's data (e.g. a data directory moved
        in provider.nix), removed by fedipanel-wipe.
      '';
    };
    journal = mkOption {
      type = types.bool;
      default = true;
      description = ''
        Whether fedipanel-wipe rotates and vacuums the systemd journal, which
        holds the services' logs (names, addresses of the operator's users).
      '';
    };
  };

  config = {
    environment.systemPackages = [
      (pkgs.writeShellApplication {
        name = "fedipanel-wipe";
        runtimeInputs = [
          pkgs.coreutils
          pkgs.findutils
          pkgs.util-linux
          config.systemd.package
        ];
        text = script;
      })
    ];
  };
}
