"""`flask --app wsgi fedipanel ...`: set up the database, accounts, tokens and workers."""

from __future__ import annotations

import os
import secrets
import sys
import threading
from collections.abc import Callable
from typing import Any

import click
from flask import current_app
from flask.cli import AppGroup
from flask_migrate import upgrade
from redis import Redis
from rq import Queue
from sqlalchemy import select

from fedipanel.accounting.records import purge_expired
from fedipanel.accounts import operators
from fedipanel.accounts import users as accounts
from fedipanel.accounts.models import Role, User
from fedipanel.accounts.setup import forget_setup_code, setup_code
from fedipanel.audit import log as audit_log
from fedipanel.audit.log import Action
from fedipanel.core.registry import SERVICE_NAMES
from fedipanel.core.usage import Month
from fedipanel.db import db
from fedipanel.deployments.deletions import deletion_view, start_deletion
from fedipanel.deployments.models import Status
from fedipanel.deployments.reaper import reap_stale_deployments
from fedipanel.deployments.workers import PanelWorker
from fedipanel.errors import PanelError
from fedipanel.identity import sync as directory_sync
from fedipanel.jobqueue import QUEUE_NAME, EmbeddedQueue, get_queue
from fedipanel.keys.deploy_keys import add_missing_deploy_keys
from fedipanel.machines import quota
from fedipanel.rollouts import wakeups as rollout_wakeups
from fedipanel.runtime import DAY
from fedipanel.storage import records as storage
from fedipanel.timeutil import utcnow
from fedipanel.usage import report as usage_report
from fedipanel.usage import sampling as usage_sampling
from fedipanel.web.cli_rollouts import rollout

cli = AppGroup("fedipanel", help="Manage FediPanel.")


cli.add_command(rollout)


def _audit(action: Action, operator_id: int | None, **details: Any) -> None:
    audit_log.record(action, actor_email="command line", operator_id=operator_id, **details)


@cli.command("init")
def init() -> None:
    """Create the database, or migrate it to the current version keeping all data."""
    upgrade()
    click.echo("Database is up to date.")
    operators = db.session.execute(
        select(User.id, User.slug).where(User.role == Role.OPERATOR, User.slug.is_not(None))
    ).all()
    added = add_missing_deploy_keys([(row.id, str(row.slug)) for row in operators])
    if added:
        click.echo(f"Created a deploy key for {added} operator(s) that had none.")
    if accounts.has_provider():
        forget_setup_code(current_app.instance_path)
    else:
        code = setup_code(current_app.instance_path)
        click.echo(
            "No provider account yet: open http://127.0.0.1:5000/setup and enter the "
            f"set-up code {code} (also in instance/setup-code), or run "
            "`flask --app wsgi fedipanel create-user --role provider --email ...`."
        )


def _read_password() -> str:
    password = os.environ.get("FEDIPANEL_PASSWORD")
    if password:
        return password
    if sys.stdin.isatty():
        return str(click.prompt("Password", hide_input=True, confirmation_prompt=True))
    return sys.stdin.readline().rstrip("\n")


@cli.command("create-user")
@click.option("--email", required=True, help="The login email address.")
@click.option(
    "--role", type=click.Choice(["provider", "operator"]), default="operator", show_default=True
)
@click.option("--slug", help="Operator's deployment name (default: from the email).")
def create_user(email: str, role: str, slug: str | None) -> None:
    """Create an account; the password comes from FEDIPANEL_PASSWORD or standard input."""
    try:
        user = accounts.create_user(email, _read_password(), role, slug)
    except accounts.AccountError as exc:
        raise click.UsageError(f"{exc.field}: {exc.message}") from None
    if user.is_provider:
        forget_setup_code(current_app.instance_path)
    _audit(Action.OPERATOR_CREATED, user.id if user.is_operator else None, created=user.email)
    click.echo(user.id)


@cli.command("create-token")
@click.option("--email", required=True, help="The account the token acts for.")
@click.option("--name", default="command line", show_default=True, help="A label for the token.")
def create_token(email: str, name: str) -> None:
    """Create an API token; it is printed once, as the last line."""
    user = accounts.find_user(email)
    if user is None:
        raise click.UsageError(f"no account with email {email}")
    token = accounts.create_token(user, name)
    _audit(Action.TOKEN_CREATED, user.id if user.is_operator else None, name=name)
    click.echo(f"Token for {user.email} (store it now: it cannot be shown again):")
    click.echo(token)


@cli.command("worker")
@click.option("--burst", is_flag=True, help="Stop when the queue is empty.")
def worker(burst: bool) -> None:
    """Run an RQ worker for deployment jobs on FEDIPANEL_REDIS_URL."""
    url = current_app.config.get("REDIS_URL")
    if not url:
        raise click.UsageError("FEDIPANEL_REDIS_URL is not set: the web process runs jobs itself")
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    stop = threading.Event()

    def repeat(name: str, seconds: float, task: Callable[[], object], what: str) -> None:
        # Runs even when nobody looks at a page; each round in a fresh app context, so that it
        # sees settings the provider saved meanwhile.
        def forever() -> None:
            while not stop.wait(seconds):
                with app.app_context():
                    try:
                        task()
                    except Exception:
                        app.logger.exception("could not %s", what)

        threading.Thread(target=forever, name=name, daemon=True).start()

    repeat(
        "fedipanel-reaper",
        min(float(app.config["REAP_INTERVAL"]), float(app.config["STALE_AFTER"]) / 2),
        reap_stale_deployments,
        "check for interrupted deployments",
    )
    repeat("fedipanel-retention", DAY, purge_expired, "purge expired accounting records")
    repeat(
        "fedipanel-usage-timer",
        usage_sampling.check_every(float(app.config["USAGE_SAMPLE_INTERVAL"])),
        usage_sampling.enqueue_when_due,
        "queue the S3 usage sample",
    )
    repeat(
        "fedipanel-rollouts",
        max(1.0, float(app.config["ROLLOUT_TICK"])),
        rollout_wakeups.enqueue_when_due,
        "check for rollout updates that are due",
    )
    repeat(
        "fedipanel-directory-timer",
        directory_sync.check_every(float(app.config["LDAP_SYNC_INTERVAL"])),
        directory_sync.enqueue_when_due,
        "queue the directory syncs",
    )
    rollout_wakeups.wake_for_waiting()
    connection = Redis.from_url(url)
    try:
        # With the scheduler, jobs queued for a time (rollout updates) start at that time.
        PanelWorker(
            [Queue(QUEUE_NAME, connection=connection)], connection=connection, app=app
        ).work(burst=burst, with_scheduler=True)
    finally:
        stop.set()


@cli.command("demo")
def demo() -> None:
    """Create a demo provider and operator (if missing) and print their logins."""
    for email, role in (("admin@provider.example", "provider"), ("demo@acme.example", "operator")):
        if accounts.find_user(email) is not None:
            click.echo(f"{role:9} {email} (exists; password unchanged)")
            continue
        password = secrets.token_urlsafe(12)
        user = accounts.create_user(email, password, role, "acme" if role == "operator" else None)
        if user.is_provider:
            forget_setup_code(current_app.instance_path)
        _audit(Action.OPERATOR_CREATED, user.id if user.is_operator else None, created=email)
        click.echo(f"{role:9} {email}  password: {password}")


def _operator(email: str) -> User:
    """Return the operator with this email, or stop with a usage error naming it."""
    user = accounts.find_user(email)
    if user is None or not user.is_operator:
        raise click.UsageError(f"no operator account with email {email}")
    return user


@cli.command("disable-operator")
@click.option("--email", required=True, help="The operator's login email address.")
def disable_operator(email: str) -> None:
    """Disable an operator: no login, no API token, no deployment; their services keep running."""
    user = _operator(email)
    if not operators.disable(user):
        click.echo(f"{user.email} was already disabled.")
        return
    _audit(Action.OPERATOR_DISABLED, user.id)
    click.echo(f"{user.email} is disabled; what they deployed keeps running.")


@cli.command("enable-operator")
@click.option("--email", required=True, help="The operator's login email address.")
def enable_operator(email: str) -> None:
    """Let a disabled operator log in, use their API tokens and deploy again."""
    user = _operator(email)
    if not operators.enable(user):
        click.echo(f"{user.email} was not disabled.")
        return
    _audit(Action.OPERATOR_ENABLED, user.id)
    click.echo(f"{user.email} is enabled again.")


LIMIT = click.IntRange(min=0, max=quota.MAX_LIMIT)


@cli.command("set-quota")
@click.option("--email", required=True, help="The operator's login email address.")
@click.option("--vms", type=LIMIT, help="Most VMs (omit: unlimited).")
@click.option("--cores", type=LIMIT, help="Most vCPUs in total.")
@click.option("--memory-mib", type=LIMIT, help="Most memory in MiB in total.")
@click.option("--disk-gib", type=LIMIT, help="Most disk in GiB in total.")
def set_quota_command(
    email: str, vms: int | None, cores: int | None, memory_mib: int | None, disk_gib: int | None
) -> None:
    """Set an operator's quota; a limit left out is unlimited."""
    user = _operator(email)
    limit = quota.Usage(vms, cores, memory_mib, disk_gib)
    quota.set_quota(user.id, limit)
    _audit(
        Action.QUOTA_CHANGED,
        user.id,
        vms=vms,
        cores=cores,
        memory_mib=memory_mib,
        disk_gib=disk_gib,
    )
    limits = ", ".join(
        f"{'unlimited' if limit.get(key) is None else limit.get(key)} {label}"
        for key, label in quota.FIELDS
    )
    click.echo(f"Quota for {user.email}: {limits}")


@cli.command("assign-bucket")
@click.option("--email", required=True, help="The operator's login email.")
@click.option("--service", "service_name", required=True, type=click.Choice(SERVICE_NAMES))
@click.option("--endpoint", required=True, help="The bucket's S3 endpoint URL.")
@click.option("--region", default="garage", show_default=True)
@click.option("--bucket", required=True)
@click.option("--access-key-id", required=True)
@click.option("--public-url", default=None, help="Where browsers fetch its media (optional).")
def assign_bucket(
    email: str,
    service_name: str,
    endpoint: str,
    region: str,
    bucket: str,
    access_key_id: str,
    public_url: str | None,
) -> None:
    """Use an existing bucket for a service; the secret access key comes on standard input."""
    operator = _operator(email)
    if sys.stdin.isatty():
        secret = str(click.prompt("Secret access key", hide_input=True))
    else:
        secret = sys.stdin.readline().strip()
    try:
        storage.assign_bucket(
            operator.id,
            service_name,
            endpoint=endpoint,
            region=region,
            bucket=bucket,
            access_key_id=access_key_id,
            secret=secret,
            public_url=public_url,
        )
    except storage.StorageInputError as exc:
        raise click.UsageError(f"{exc.field}: {exc.message}") from None
    _audit(Action.BUCKET_ASSIGNED, operator.id, service=service_name, bucket=bucket)
    click.echo(f"{service_name} of {email} uses bucket {bucket} from its next deployment.")


@cli.command("delete-operator")
@click.option("--email", required=True, help="The operator's login email address.")
def delete_operator(email: str) -> None:
    """Delete an operator's account with everything it owns; prints the deletion's outcome."""
    operator = _operator(email)
    try:
        deletion = start_deletion(operator, requested_by=None)
    except PanelError as exc:
        raise click.ClickException(exc.message) from None
    deletion_id = deletion.id  # the row goes with the account: keep its id
    _audit(Action.OPERATOR_DELETION_STARTED, operator.id, deletion=deletion_id)
    job_queue = get_queue()
    if not isinstance(job_queue, EmbeddedQueue):
        click.echo(f"Deletion {deletion_id} queued: GET /api/v1/deletions/{deletion_id}")
        return
    job_queue.join()  # without Redis this process runs the job: wait for it
    db.session.expire_all()
    view = deletion_view(deletion_id)
    for line in view.log:
        click.echo(line)
    if view.status != Status.SUCCEEDED:
        raise click.ClickException(f"deletion {deletion_id} {view.status}: {view.error}")
    click.echo(f"Deletion {deletion_id}: {email} and everything it owned are deleted.")


USAGE_LABELS = (
    ("vms", "VMs (most at once)"),
    ("vcpuHours", "vCPU-hours"),
    ("memoryGibHours", "memory GiB-hours"),
    ("diskGibDays", "disk GiB-days"),
    ("s3GibDays", "S3 GiB-days"),
)


@cli.command("usage")
@click.option("--email", required=True, help="The operator's login email.")
@click.option("--month", help="The calendar month (UTC), YYYY-MM; default: this month.")
@click.option("--csv", "as_csv", is_flag=True, help="Print CSV: a header line and one row.")
def usage_command(email: str, month: str | None, as_csv: bool) -> None:
    """Print what an operator used in a month (so far, for this month)."""
    operator = accounts.find_user(email)
    if operator is None or not operator.is_operator:
        raise click.UsageError(f"no operator with email {email}")
    now = utcnow()
    try:
        chosen = Month.of(now) if month is None else Month.parse(month)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--month") from None
    found = usage_report.month_usage(operator.id, chosen, now)
    if as_csv:
        click.echo(usage_report.as_csv([found]), nl=False)
        return
    so_far = f", so far (until {found.until:%Y-%m-%d %H:%M} UTC)" if found.in_progress else ""
    click.echo(f"Usage of {operator.email} in {chosen}{so_far}:")
    values = found.as_json()
    for key, label in USAGE_LABELS:
        click.echo(f"  {label:20} {values[key]}")


@cli.command("sync-directory")
@click.option("--email", required=True, help="The operator's login email.")
def sync_directory(email: str) -> None:
    """Sync an operator's services with its LDAP directory now; prints what changed."""
    operator = _operator(email)
    try:
        row = directory_sync.queue_sync(operator.id, "command line")
    except directory_sync.SyncRefused as exc:
        raise click.ClickException(f"{email}: {exc}") from None
    job_queue = get_queue()
    if not isinstance(job_queue, EmbeddedQueue):
        click.echo(f"Directory sync {row.id} queued: GET /api/v1/identity/syncs/{row.id}")
        return
    job_queue.join()  # without Redis this process runs the job: wait for it
    db.session.expire_all()
    view = directory_sync.sync_json(row)
    for line in view["changes"]:
        click.echo(line)
    for line in view["errors"]:
        click.echo(f"error: {line}", err=True)
    if view["status"] != "succeeded":
        raise click.ClickException(f"directory sync {row.id} {view['status']}")
    click.echo(f"Directory sync {row.id} succeeded{' (simulated)' if view['simulated'] else ''}.")
