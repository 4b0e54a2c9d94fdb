"""`flask --app wsgi fedipanel rollout ...`: create a rollout and follow it from a shell."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import click
from flask.cli import AppGroup
from pydantic import ValidationError

from fedipanel.audit import log as audit_log
from fedipanel.audit.log import Action
from fedipanel.core.configuration import error_list
from fedipanel.core.rollouts import RolloutSpec
from fedipanel.db import db
from fedipanel.errors import PanelError
from fedipanel.rollouts import creation, views
from fedipanel.rollouts.models import Rollout
from fedipanel.settings import effective
from fedipanel.timeutil import utcnow

rollout = AppGroup("rollout", help="Roll a change out to many operators in their windows.")


def _operators(text: str) -> Any:
    if text.strip().lower() == "all":
        return "all"
    try:
        return [int(part) for part in text.replace(",", " ").split()]
    except ValueError:
        raise click.BadParameter('"all" or operator ids separated by commas') from None


def _change(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise click.BadParameter(f"not JSON: {exc.msg}") from None


def _moment(text: str) -> datetime | str:
    """Read an ISO 8601 time as typed (seconds may be left out); the text if it is none."""
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return text


@rollout.command("create")
@click.option("--title", required=True)
@click.option("--reason", required=True, help="Shown to the operators.")
@click.option("--deadline", required=True, help="ISO 8601 with offset, e.g. 2027-02-01T00:00Z.")
@click.option("--operators", default="all", show_default=True, help='"all" or ids: 3,5,8')
@click.option("--batch-size", type=click.IntRange(1, 10_000), default=1, show_default=True)
@click.option("--failure-threshold", type=click.IntRange(1, 10_000), default=1, show_default=True)
@click.option("--notice-hours", type=click.IntRange(0, 2160), default=72, show_default=True)
@click.option(
    "--change",
    default='{"kind": "redeploy"}',
    show_default=True,
    help='JSON: {"kind": "redeploy"}, {"kind": "sizes", "sizes": {...}}, {"kind": "pin", '
    '"flakeLock": {...}}, {"kind": "proxmox", "parameters": {"template": 9001, "storage": ..., '
    '"pool": ..., "nodes": [...]}} or {"kind": "rekey"}',
)
def create(**options: Any) -> None:
    """Create a rollout, tell every operator in it, and print its id."""
    body = {
        "title": options["title"],
        "reason": options["reason"],
        "deadline": _moment(options["deadline"]),
        "operators": _operators(options["operators"]),
        "batchSize": options["batch_size"],
        "failureThreshold": options["failure_threshold"],
        "noticeHours": options["notice_hours"],
        "change": _change(options["change"]),
    }
    try:
        spec = RolloutSpec.model_validate(body)
        found = creation.create_rollout(spec, None, effective.current(), utcnow())
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error_list(exc))
        raise click.ClickException(problems) from None
    except PanelError as exc:
        raise click.ClickException(f"{'.'.join(map(str, exc.loc))}: {exc}") from None
    audit_log.record(Action.ROLLOUT_CREATED, actor_email="command line", rollout=found.id)
    click.echo(f"Rollout #{found.id}: {len(found.targets)} operators")
    click.echo(found.id)


@rollout.command("show")
@click.argument("rollout_id", type=click.IntRange(1, 2**63 - 1))
def show(rollout_id: int) -> None:
    """Print a rollout's board as JSON."""
    found = db.session.get(Rollout, rollout_id)
    if found is None:
        raise click.ClickException(f"there is no rollout {rollout_id}")
    click.echo(json.dumps(views.board(found), indent=2))
