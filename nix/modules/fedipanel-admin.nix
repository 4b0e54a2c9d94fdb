# The operator's administrator account on each enabled service.
#
# The panel sets `fedipanel.admin.{username,email,rotation}` in the
# machine's values and delivers the password, before nixops4 runs, as
#   /var/lib/fedipanel/keys/<service>-admin-password   (root, 0400)
# One oneshot unit per service, fedipanel-admin-<service>.service, creates
# the account or brings an existing one up to date with the service's own
# tools. It runs at activation whenever the username, email or password
# generation changes, and the panel runs it again over SSH after nixops4
# with `fedipanel-admin <service>` to see its result. Passwords reach the
# tools through systemd credentials, files or standard input: never a
# command line of their own and never the journal.
#
# Commands, from the services' sources:
#   Mastodon  mastodon/mastodon lib/mastodon/cli/accounts.rb:
#               tootctl accounts create USER --email E --confirmed --role Owner
#               tootctl accounts modify USER --email E --confirm --approve --role Owner
#             `create` and `modify --reset-password` only print a generated
#             password, so the panel's password is set with `rails runner`
#             (User#update!, the model tootctl itself uses), reading it from
#             the credential file.
#   Pixelfed  pixelfed/pixelfed app/Console/Commands/UserCreate.php:
#               pixelfed-manage user:create --name --username --email
#                 --password --is_admin=1 --confirm_email=1
#             (with a throwaway password), then `pixelfed-manage tinker`
#             sets email, admin flag and the panel's password (Hash::make)
#             from the credential file; nixpkgs pixelfed.nix installs
#             pixelfed-manage (artisan as the pixelfed user).
#   PeerTube  its REST API (docs.joinpeertube.org/api-rest-reference.html)
#             on 127.0.0.1:listenHttp, logged in as root:
#               GET  /api/v1/oauth-clients/local, POST /api/v1/users/token
#               GET  /api/v1/users?search=USER
#               POST /api/v1/users  {username,email,password,role:0,...}
#               PUT  /api/v1/users/{id} {email,password,role:0,emailVerified}
#             root's own password is PT_INITIAL_ROOT_PASSWORD, generated on
#             the machine by fedipanel-secrets.nix, so PeerTube never prints
#             a generated one to the journal at first start.
{
  config,
  lib,
  pkgs,
  ...
}:
let
  inherit (lib) mkIf mkMerge mkOption types;

  cfg = config.fedipanel.admin;
  keysDir = "/var/lib/fedipanel/keys";
  secretsDir = "/var/lib/fedipanel/secrets";
  passwordFile = service: "${keysDir}/${service}-admin-password";
  configured = cfg.username != null && cfg.email != null;

  mastodon = config.services.mastodon;
  pixelfed = config.services.pixelfed;
  peertube = config.services.peertube;

  common = service: {
    description = "FediPanel: the administrator account of ${service}";
    wantedBy = [ "multi-user.target" ];
    restartTriggers = [
      cfg.username
      cfg.email
      (toString cfg.rotation)
    ];
    environment = {
      FEDIPANEL_ADMIN_USERNAME = cfg.username;
      FEDIPANEL_ADMIN_EMAIL = cfg.email;
    };
    serviceConfig = {
      Type = "oneshot";
      RemainAfterExit = true;
      UMask = "0077";
      # Read as root by systemd, handed to the unit in $CREDENTIALS_DIRECTORY.
      LoadCredential = "password:${passwordFile service}";
    };
  };

  mastodonUnit = lib.recursiveUpdate (common "mastodon") {
    after = [ "mastodon-web.service" ];
    wants = [ "mastodon-web.service" ];
    # The same environment as Mastodon's own units (database, Redis, secrets); PATH is
    # each unit's own.
    environment = builtins.removeAttrs (config.systemd.services.mastodon-web.environment or { }) [
      "PATH"
    ];
    serviceConfig = {
      User = mastodon.user;
      Group = mastodon.group;
      WorkingDirectory = mastodon.package;
      EnvironmentFile = config.systemd.services.mastodon-web.serviceConfig.EnvironmentFile or [ ];
    };
    script = ''
      set -euo pipefail
      tootctl=${mastodon.package}/bin/tootctl
      user="$FEDIPANEL_ADMIN_USERNAME"
      if ! "$tootctl" accounts modify "$user" --email "$FEDIPANEL_ADMIN_EMAIL" \
          --confirm --approve --role Owner; then
        # `create` prints the password it generated: keep it out of the journal.
        "$tootctl" accounts create "$user" --email "$FEDIPANEL_ADMIN_EMAIL" \
          --confirmed --role Owner > /dev/null
        echo "created $user"
      fi
      FEDIPANEL_PASSWORD_FILE="$CREDENTIALS_DIRECTORY/password" \
        ${mastodon.package}/bin/rails runner '
          account = Account.find_local!(ENV.fetch("FEDIPANEL_ADMIN_USERNAME"))
          password = File.read(ENV.fetch("FEDIPANEL_PASSWORD_FILE")).strip
          account.user.update!(password: password) unless account.user.valid_password?(password)
        '
      echo "mastodon: $user is the Owner with the panel's password"
    '';
  };

  pixelfedUnit = lib.recursiveUpdate (common "pixelfed") {
    after = [
      "pixelfed-data-setup.service"
      "phpfpm-pixelfed.service"
    ];
    wants = [ "phpfpm-pixelfed.service" ];
    # pixelfed-manage comes from nixpkgs' module, in the system profile.
    path = [
      "/run/current-system/sw"
      pkgs.coreutils
    ];
    serviceConfig = {
      User = pixelfed.user;
      Group = pixelfed.group;
    };
    script = ''
      set -euo pipefail
      user="$FEDIPANEL_ADMIN_USERNAME"
      exists="$(pixelfed-manage tinker --execute='echo App\User::whereUsername(getenv("FEDIPANEL_ADMIN_USERNAME"))->exists() ? "yes" : "no";')"
      if [ "$exists" != yes ]; then
        # A throwaway password: the panel's is set below, from the credential file.
        pixelfed-manage user:create --no-interaction --name="$user" --username="$user" \
          --email="$FEDIPANEL_ADMIN_EMAIL" --password="$(head -c 24 /dev/urandom | base64 -w0)" \
          --is_admin=1 --confirm_email=1 > /dev/null
        echo "created $user"
      fi
      pixelfed-manage tinker --execute='
        $u = App\User::whereUsername(getenv("FEDIPANEL_ADMIN_USERNAME"))->firstOrFail();
        $u->email = getenv("FEDIPANEL_ADMIN_EMAIL");
        $u->is_admin = true;
        $u->email_verified_at = $u->email_verified_at ?? now();
        $u->password = Illuminate\Support\Facades\Hash::make(trim(file_get_contents(getenv("CREDENTIALS_DIRECTORY") . "/password")));
        $u->save();
      ' > /dev/null
      echo "pixelfed: $user is an admin with the panel's password"
    '';
  };

  peertubeUnit = lib.recursiveUpdate (common "peertube") {
    after = [ "peertube.service" ];
    wants = [ "peertube.service" ];
    path = [
      pkgs.curl
      pkgs.jq
      pkgs.coreutils
      pkgs.gnused
    ];
    serviceConfig = {
      User = "root";
      RuntimeDirectory = "fedipanel-admin-peertube";
      RuntimeDirectoryMode = "0700";
    };
    script = ''
      set -euo pipefail
      api=http://127.0.0.1:${toString peertube.listenHttp}/api/v1
      run="$RUNTIME_DIRECTORY"
      user="$FEDIPANEL_ADMIN_USERNAME"
      sed -n 's/^PT_INITIAL_ROOT_PASSWORD=//p' ${secretsDir}/peertube-root-password.env > "$run/root"

      # PeerTube may still be starting after activation.
      for _ in $(seq 60); do
        curl -fsS "$api/oauth-clients/local" > "$run/client" 2>/dev/null && break
        sleep 5
      done
      client_id="$(jq -r .client_id "$run/client")"
      client_secret="$(jq -r .client_secret "$run/client")"
      curl -fsS "$api/users/token" --data-urlencode "client_id=$client_id" \
        --data-urlencode "client_secret=$client_secret" --data-urlencode grant_type=password \
        --data-urlencode username=root --data-urlencode "password@$run/root" \
        | jq -r '"Authorization: Bearer " + .access_token' > "$run/auth"

      id="$(curl -fsS -H "@$run/auth" -G "$api/users" --data-urlencode "search=$user" \
        | jq -r --arg u "$user" '.data[] | select(.username == $u) | .id')"
      if [ -z "$id" ]; then
        jq -n --arg u "$user" --arg e "$FEDIPANEL_ADMIN_EMAIL" \
          --rawfile p "$CREDENTIALS_DIRECTORY/password" \
          '{username: $u, email: $e, password: ($p | rtrimstr("\n")), role: 0,
            videoQuota: -1, videoQuotaDaily: -1}' \
          | curl -fsS -H "@$run/auth" -H 'Content-Type: application/json' \
              --data-binary @- "$api/users" > /dev/null
        echo "created $user"
      else
        jq -n --arg e "$FEDIPANEL_ADMIN_EMAIL" --rawfile p "$CREDENTIALS_DIRECTORY/password" \
          '{email: $e, password: ($p | rtrimstr("\n")), role: 0, emailVerified: true}' \
          | curl -fsS -X PUT -H "@$run/auth" -H 'Content-Type: application/json' \
              --data-binary @- "$api/users/$id" > /dev/null
      fi
      rm -f "$run/root" "$run/auth"
      echo "peertube: $user is an administrator with the panel's password"
    '';
  };

  # Run over SSH by the panel after nixops4: re-apply one service's account, show the result.
  command = pkgs.writeShellScriptBin "fedipanel-admin" ''
    set -uo pipefail
    case "''${1:-}" in
      mastodon | pixelfed | peertube) ;;
      *)
        echo "usage: fedipanel-admin mastodon|pixelfed|peertube" >&2
        exit 2
        ;;
    esac
    unit="fedipanel-admin-$1.service"
    systemctl=${config.systemd.package}/bin/systemctl
    if ! "$systemctl" cat "$unit" > /dev/null 2>&1; then
      echo "fedipanel-admin: $1 is not enabled on this machine" >&2
      exit 1
    fi
    if "$systemctl" restart "$unit"; then
      ${config.systemd.package}/bin/journalctl -u "$unit" -n 3 --no-pager -o cat
      exit 0
    fi
    ${config.systemd.package}/bin/journalctl -u "$unit" -n 20 --no-pager -o cat >&2
    echo "fedipanel-admin: $unit failed" >&2
    exit 1
  '';
in
{
  options.fedipanel.admin = {
    username = mkOption {
      type = types.nullOr types.str;
      default = null;
      description = "Login name of the operator's administrator on every enabled service.";
    };
    email = mkOption {
      type = types.nullOr types.str;
      default = null;
      description = "Email address of the operator's administrator.";
    };
    rotation = mkOption {
      type = types.int;
      default = 1;
      description = ''
        How often the panel made the administrator's password (1 for the
        first). A new value re-runs the units, which apply the password
        delivered to ${keysDir}/<service>-admin-password.
      '';
    };
  };

  config = mkIf configured (mkMerge [
    { environment.systemPackages = [ command ]; }
    (mkIf mastodon.enable { systemd.services.fedipanel-admin-mastodon = mastodonUnit; })
    (mkIf pixelfed.enable { systemd.services.fedipanel-admin-pixelfed = pixelfedUnit; })
    (mkIf peertube.enable { systemd.services.fedipanel-admin-peertube = peertubeUnit; })
  ]);
}
