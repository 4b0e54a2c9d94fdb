"""Every default of every FediPanel setting, in one place.

A setting is `FEDIPANEL_<KEY>` in the environment or `KEY` in `instance/config.py`. The provider
can also set the keys of `PROVIDER` on the settings page (see `effective.PRECEDENCE`).
"""

from __future__ import annotations

from typing import Any

from fedipanel.core import paths

# Runtime settings, loaded into Flask's config when the app is created.
RUNTIME: dict[str, Any] = {
    "DATABASE_URL": None,  # None: SQLite in the instance folder
    "REDIS_URL": None,  # None: the embedded in-process queue
    "SECRET_KEY": None,  # None: generated once into instance/secret_key
    "ENCRYPTION_KEY": None,  # None: secrets at rest are encrypted with SECRET_KEY
    "HTTPS": False,
    "NIXOPS4": None,  # None: nixops4 on PATH, else the simulator
    "FLAKE_DIR": None,  # None: the project's nix/ folder
    "SIMULATE": True,
    "NIXOPS4_TIMEOUT": 3600,
    "JOB_TIMEOUT": 7200,
    "HEARTBEAT_INTERVAL": 5.0,
    "STALE_AFTER": 30.0,
    "REAP_INTERVAL": 5.0,
    "ROLLOUT_TICK": 60.0,  # seconds between checks for rollout updates that are due
    "SIMULATOR_STEP_DELAY": 0.4,
    "ACME_EMAIL": None,  # None: the first provider account's email
    "STATE_VERSION": "25.05",
    "DNS_TTL": 300,
    "DNS_TIMEOUT": 10.0,  # seconds the DNS server may take to answer one query or update
    "SIZES": None,  # JSON, overrides the sizes on the settings page
    "KEYS_DIR": paths.KEYS_DIR,
    "VM_BOOT_TIMEOUT": 600.0,
    "PARALLEL_MACHINES": 4,  # machines of one deployment worked on at once (VMs, secrets, checks)
    "VM_SHUTDOWN_TIMEOUT": 180,  # seconds a kept VM may take to shut down before it is stopped
    "WIPE_COMMAND": "fedipanel-wipe",  # run over SSH on a pool VM before it returns to the pool
    "WIPE_TIMEOUT": 600.0,
    "ADMIN_COMMAND": "fedipanel-admin",  # run over SSH to apply a service's admin account
    "ADMIN_TIMEOUT": 900.0,
    "HEALTH_TIMEOUT": 600.0,  # seconds a service's endpoint may take to answer after nixops4
    "HEALTH_PORT": 443,
    "HEALTH_CA_BUNDLE": None,  # None: the system's CAs
    "PROXMOX_ATTEMPTS": 5,  # tries of one Proxmox call after transient failures
    "PROXMOX_BACKOFF": 1.0,
    "PROXMOX_TASK_POLL": 1.0,
    "PROXMOX_TASK_TIMEOUT": 900.0,
    "PROXMOX_TIMEOUT": 30.0,  # seconds one Proxmox request may take before it counts as lost
    "GARAGE_ATTEMPTS": 5,  # tries of one Garage admin call after transient failures
    "GARAGE_BACKOFF": 1.0,  # seconds before the second try; doubled before each further one
    "GARAGE_TIMEOUT": 10.0,  # seconds one Garage admin request may take
    "TRUSTED_PROXIES": 0,  # reverse proxies in front of the panel (X-Forwarded-For hops)
    "ACCOUNTING_RETENTION_DAYS": 2557,  # seven years: deleted accounts' records and audit
    "USAGE_SAMPLE_INTERVAL": 86400.0,  # seconds between samples of each operator's S3 usage
    "LDAP_SYNC_INTERVAL": 900.0,  # seconds between syncs of each operator's directory
    "ACCOUNT_TOOLS_PATH": "",  # directory prepended to PATH for tootctl/artisan on machines
    "PAGE_CACHE_SECONDS": 30.0,  # longest a page shows clock-dependent figures; 0: no page cache
    "PAGE_CACHE_MEGABYTES": 16.0,  # pages kept per web process
    "LOGIN_MAX_FAILURES": 5,
    "LOGIN_WINDOW": 300,
    "NOTICE_FROM": None,  # None: panel@ the relay's sender domain, else panel@ the relay host
    "NOTICE_ATTEMPTS": 3,  # tries per channel (email, webhook) before a notice's delivery fails
    "NOTICE_BACKOFF": 2.0,  # seconds before the second try; doubled before each further one
    "WEBHOOK_TIMEOUT": 5.0,  # seconds a webhook receiver has to answer
    "WEBHOOK_ALLOW_HTTP": False,  # also allow http:// webhooks to loopback (tests, local demos)
    # Flask's own.
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "WTF_CSRF_TIME_LIMIT": None,
    "MAX_CONTENT_LENGTH": 1024 * 1024,
}

# Defaults of settings the provider may also enter on the settings page.
PROVIDER: dict[str, str] = {
    "SMTP_PORT": "587",
    "S3_REGION": "garage",
    "PROXMOX_VERIFY": "true",
    "VM_SSH_PORT": "22",
    "DNS_PORT": "53",
    "DNS_TSIG_ALGORITHM": "hmac-sha256",
    "DMARC_POLICY": "quarantine",
}
