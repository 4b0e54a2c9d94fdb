"""`flask --app wsgi fedipanel assign-bucket`: give an operator's service an existing bucket."""

from __future__ import annotations

import sys

import click
from flask.cli import with_appcontext

from fedipanel.accounts import service as accounts
from fedipanel.configurations.schema import SERVICE_NAMES
from fedipanel.storage import service


@click.command("assign-bucket")
@click.option("--email", required=True, help="The operator's login email.")
@click.option("--service", "service_name", required=True, type=click.Choice(SERVICE_NAMES))
@click.option("--endpoint", required=True, help="The bucket's S3 endpoint URL.")
@click.option("--region", default="garage", show_default=True)
@click.option("--bucket", required=True)
@click.option("--access-key-id", required=True)
@click.option("--public-url", default=None, help="Where browsers fetch its media (optional).")
@with_appcontext
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
    operator = accounts.find_user(email)
    if operator is None or not operator.is_operator:
        raise click.UsageError(f"no operator with email {email}")
    if sys.stdin.isatty():
        secret = str(click.prompt("Secret access key", hide_input=True))
    else:
        secret = sys.stdin.readline().strip()
    try:
        service.assign_bucket(
            operator.id,
            service_name,
            endpoint=endpoint,
            region=region,
            bucket=bucket,
            access_key_id=access_key_id,
            secret=secret,
            public_url=public_url,
        )
    except service.StorageInputError as exc:
        raise click.UsageError(f"{exc.field}: {exc.message}") from None
    click.echo(f"{service_name} of {email} uses bucket {bucket} from its next deployment.")
