# FediPanel's NixOS module, imported on every machine of every deployment.
#
# Secrets never enter the Nix store (it is world-readable). They live in
# /var/lib/fedipanel on the machine and reach the services by path:
#
#   /var/lib/fedipanel/keys/       delivered by the panel over SSH (S3 keys,
#                                  Postfix's relay password map, the DKIM key
#                                  (see fedipanel-mail.nix)), one env file per service:
#                                  pixelfed-*.env, peertube-*.env (mode 0400)
#   /var/lib/fedipanel/secrets/    created here, on the machine:
#     pixelfed-app-key.env         APP_KEY=base64:<32 random bytes>  (generated once)
#     pixelfed.env                 app key + keys/pixelfed-*.env      (assembled)
#     peertube-secrets             hex of 32 random bytes             (generated once)
#     peertube-root-password.env   PT_INITIAL_ROOT_PASSWORD=...       (generated once)
#     peertube.env                 root password + keys/peertube-*.env (assembled)
#
# The panel's configurator points the services at these fixed paths:
#   services.pixelfed.secretFile             = /var/lib/fedipanel/secrets/pixelfed.env
#   services.peertube.secrets.secretsFile    = /var/lib/fedipanel/secrets/peertube-secrets
#   services.peertube.serviceEnvironmentFile = /var/lib/fedipanel/secrets/peertube.env
#
# How the services read them (checked against NixOS/nixpkgs
# nixos/modules/services/web-apps/pixelfed.nix and peertube.nix):
#   - pixelfed-data-setup.service loads `secretFile` with
#     `LoadCredential = "env-secrets:<secretFile>"` (read by systemd as root)
#     and appends it to /var/lib/pixelfed/.env; phpfpm-pixelfed.service and
#     pixelfed-horizon.service are ordered after pixelfed-data-setup.service.
#   - peertube.service reads `serviceEnvironmentFile` as `EnvironmentFile=`
#     (read by systemd as root), but its start script runs as the peertube
#     user and does `cat <secrets.secretsFile>`: that one file must be
#     readable by the peertube group (root:peertube 0440).
#
# The oneshot unit fedipanel-secrets.service runs before those units, never
# overwrites a generated secret, and re-assembles the combined files on every
# start (at boot and whenever the deployment generation changes). When an
# assembled file's content changed while its service is running, it restarts
# that service so new panel-delivered keys take effect.
{
  config,
  lib,
  pkgs,
  ...
}:
let
  inherit (lib) mkIf mkOption types;

  cfg = config.fedipanel;

  baseDir = "/var/lib/fedipanel";
  keysDir = "${baseDir}/keys";
  secretsDir = "${baseDir}/secrets";

  pixelfedEnabled = config.services.pixelfed.enable;
  peertubeEnabled = config.services.peertube.enable;
  needsUnit = cfg.secrets.enable && (pixelfedEnabled || peertubeEnabled);

  # Units (nixpkgs names) that read the files this module writes.
  pixelfedReaders = [ "pixelfed-data-setup.service" ];
  # Ordered after the readers; restarted with them when the secrets change.
  pixelfedRunning = [
    "phpfpm-pixelfed.service"
    "pixelfed-horizon.service"
  ];
  peertubeReaders = [ "peertube.service" ];

  consumers =
    lib.optionals pixelfedEnabled (pixelfedReaders ++ pixelfedRunning)
    ++ lib.optionals peertubeEnabled peertubeReaders;

  script = ''
    set -euo pipefail
    shopt -s nullglob inherit_errexit
    umask 077

    install -d -m 0711 -o root -g root ${baseDir} ${secretsDir}
    install -d -m 0700 -o root -g root ${keysDir}

    # Write stdin to $1 atomically (temporary file in the same directory,
    # then rename), with owner root, group $2 and mode $3.
    put() {
      local target="$1" group="$2" mode="$3" tmp
      tmp="$(mktemp "$target.XXXXXX")"
      cat > "$tmp"
      chown "root:$group" "$tmp"
      chmod "$mode" "$tmp"
      mv -f "$tmp" "$target"
    }

    # Create a secret once: keep any existing non-empty file untouched.
    generate_once() {
      local target="$1" group="$2" mode="$3" generator="$4"
      if [ -s "$target" ]; then
        return 0
      fi
      "$generator" | put "$target" "$group" "$mode"
      echo "fedipanel-secrets: generated $target"
    }

    # Concatenate the given files (each followed by a newline) into $1 when
    # the content differs; print "changed" on stdout when it was replaced.
    assemble() {
      local target="$1" group="$2" mode="$3"
      shift 3
      local tmp
      tmp="$(mktemp "$target.XXXXXX")"
      local f
      for f in "$@"; do
        if [ -f "$f" ]; then
          cat -- "$f" >> "$tmp"
          printf '\n' >> "$tmp"
        fi
      done
      chown "root:$group" "$tmp"
      chmod "$mode" "$tmp"
      if [ -f "$target" ] && cmp -s "$tmp" "$target"; then
        rm -f "$tmp"
        chown "root:$group" "$target"
        chmod "$mode" "$target"
      else
        mv -f "$tmp" "$target"
        echo "fedipanel-secrets: assembled $target" >&2
        echo changed
      fi
    }

    random_app_key() {
      printf 'APP_KEY=base64:%s\n' "$(head -c 32 /dev/urandom | base64 -w0)"
    }
    random_hex32() {
      printf '%s\n' "$(head -c 32 /dev/urandom | od -An -v -tx1 | tr -d ' \n')"
    }
    random_root_password() {
      printf 'PT_INITIAL_ROOT_PASSWORD=%s\n' \
        "$(head -c 24 /dev/urandom | base64 -w0 | tr '+/' '-_')"
    }

    # --no-block: never wait for jobs from inside this unit's own start job.
    restart_if_active() {
      local probe="$1"
      shift
      if systemctl is-active --quiet "$probe"; then
        echo "fedipanel-secrets: restarting $* to load changed secrets" >&2
        systemctl --no-block restart "$@"
      fi
    }

    ${lib.optionalString pixelfedEnabled ''
      generate_once ${secretsDir}/pixelfed-app-key.env root 0400 random_app_key
      changed="$(assemble ${secretsDir}/pixelfed.env root 0400 \
        ${secretsDir}/pixelfed-app-key.env ${keysDir}/pixelfed-*.env)"
      if [ -n "$changed" ]; then
        restart_if_active phpfpm-pixelfed.service ${lib.concatStringsSep " " (pixelfedReaders ++ pixelfedRunning)}
      fi
    ''}

    ${lib.optionalString peertubeEnabled ''
      # PeerTube's start script reads this file as the peertube user.
      generate_once ${secretsDir}/peertube-secrets ${config.services.peertube.group} 0440 random_hex32
      generate_once ${secretsDir}/peertube-root-password.env root 0400 random_root_password
      changed="$(assemble ${secretsDir}/peertube.env root 0400 \
        ${secretsDir}/peertube-root-password.env ${keysDir}/peertube-*.env)"
      if [ -n "$changed" ]; then
        restart_if_active peertube.service ${lib.concatStringsSep " " peertubeReaders}
      fi
    ''}
  '';
in
{
  imports = [
    # `fedipanel-wipe`, which the panel runs before a pre-deployed VM returns to the pool.
    ./fedipanel-wipe.nix
    # The DKIM key for OpenDKIM, and Postfix in OpenDKIM's group (with a mail relay).
    ./fedipanel-mail.nix
    # `fedipanel-admin`, the units that apply the operator's administrator account.
    ./fedipanel-admin.nix
  ];

  options.fedipanel = {
    secrets.enable = mkOption {
      type = types.bool;
      default = true;
      description = ''
        Whether to generate and assemble the app-internal secrets of Pixelfed
        and PeerTube under ${secretsDir} (see the comment at the top of
        fedipanel-secrets.nix). Only has an effect when one of them is enabled.
      '';
    };

    deployment = {
      name = mkOption {
        type = types.nullOr types.str;
        default = null;
        description = "The FediPanel deployment (operator slug) this machine belongs to.";
      };
      generation = mkOption {
        type = types.nullOr types.int;
        default = null;
        description = ''
          The deployment generation that produced this configuration. A new
          generation re-runs fedipanel-secrets.service, so keys the panel
          delivered since the last run are picked up.
        '';
      };
      machine = mkOption {
        type = types.nullOr types.str;
        default = null;
        description = "The machine's name in the deployment document.";
      };
    };
  };

  config = lib.mkMerge [
    {
      # Non-secret metadata, for health checks and for people on the machine.
      environment.etc."fedipanel/deployment.json".text = builtins.toJSON {
        inherit (cfg.deployment) name generation machine;
      };

      systemd.tmpfiles.rules = [
        "d ${baseDir} 0711 root root - -"
        "d ${secretsDir} 0711 root root - -"
        "d ${keysDir} 0700 root root - -"
      ];
    }

    (mkIf needsUnit {
      systemd.services.fedipanel-secrets = {
        description = "FediPanel: create and assemble service secrets";
        wantedBy = [ "multi-user.target" ];
        # Wants/Before rather than Requires: a restart of this unit must not
        # propagate to the services (it restarts them itself, only when the
        # secrets changed). If this unit fails, the files are missing and the
        # services refuse to start (EnvironmentFile= and LoadCredential= of a
        # missing file are errors), so this still fails closed.
        before = consumers;
        after = [ "local-fs.target" ];
        path = [
          pkgs.coreutils
          pkgs.diffutils
          config.systemd.package
        ];
        restartTriggers = [ (toString cfg.deployment.generation) ];
        # Restart (not stop + start) on configuration changes.
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

      # Out-of-band refresh after the panel delivered new keys:
      #   fedipanel-refresh-secrets
      environment.systemPackages = [
        (pkgs.writeShellScriptBin "fedipanel-refresh-secrets" ''
          exec ${config.systemd.package}/bin/systemctl restart fedipanel-secrets.service
        '')
      ];
    })

    (mkIf (needsUnit && pixelfedEnabled) {
      systemd.services.pixelfed-data-setup = {
        wants = [ "fedipanel-secrets.service" ];
        after = [ "fedipanel-secrets.service" ];
      };
    })

    (mkIf (needsUnit && peertubeEnabled) {
      systemd.services.peertube = {
        wants = [ "fedipanel-secrets.service" ];
        after = [ "fedipanel-secrets.service" ];
      };
    })
  ];
}
