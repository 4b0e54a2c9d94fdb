"""Rollout pages: the provider's list, form and live board; operators' choice of time."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext, lazy_gettext
from pydantic import ValidationError

from fedipanel.audit.log import Action
from fedipanel.core.registry import SERVICE_NAMES
from fedipanel.core.rollouts import RolloutSpec
from fedipanel.db import db
from fedipanel.errors import PanelError
from fedipanel.rollouts import choices, creation, views
from fedipanel.rollouts.models import Rollout, RolloutStatus
from fedipanel.settings import effective
from fedipanel.timeutil import utcnow
from fedipanel.web.access import current_account, operator_required, provider_required
from fedipanel.web.audit import audit
from fedipanel.web.htmx import is_htmx, render_page_or_block

bp = Blueprint("rollouts", __name__)
STOP_POLLING = 286
KINDS = {
    "redeploy": lazy_gettext("Redeploy (e.g. after a NixOS module change)"),
    "sizes": lazy_gettext("New machine sizes"),
    "pin": lazy_gettext("New pin of the flake's inputs (flake.lock)"),
    "proxmox": lazy_gettext("New Proxmox parameters for the operators' VMs"),
    "rekey": lazy_gettext("New deploy key and S3 keys (old ones revoked after the update)"),
}
PROXMOX_FIELDS = ("template", "storage", "pool", "nodes")


def _rollout(rollout_id: int) -> Rollout:
    rollout = db.session.get(Rollout, rollout_id)
    if rollout is None:
        abort(404)
    return rollout


@bp.route("/rollouts")
@provider_required
def index() -> str:
    return render_template(
        "rollouts/index.html", rollouts=views.rollouts_page(), summary=views.summary
    )


def _form_values() -> dict[str, str]:
    keys = ["title", "reason", "deadline", "operators", "batchSize", "failureThreshold"]
    keys += ["noticeHours", "kind", "flakeLock"]
    keys += [f"proxmox-{name}" for name in PROXMOX_FIELDS]
    keys += [f"size-{s}-{p}" for s in SERVICE_NAMES for p in ("cores", "memoryMib", "diskGib")]
    return {key: request.form.get(key, "").strip() for key in keys}


def _body(values: dict[str, str]) -> tuple[dict[str, Any], dict[str, str]]:
    """Turn the form into the API's body; return it with the problems found reading it."""
    problems: dict[str, str] = {}
    body: dict[str, Any] = {"title": values["title"], "reason": values["reason"]}
    try:
        deadline = datetime.fromisoformat(values["deadline"])
        body["deadline"] = (
            deadline if deadline.tzinfo else deadline.replace(tzinfo=UTC)
        ).isoformat()
    except ValueError:
        problems["deadline"] = gettext("pick a date and time (UTC)")
    text = values["operators"].lower()
    if text in ("", "all"):
        body["operators"] = "all"
    else:
        try:
            body["operators"] = [int(part) for part in text.replace(",", " ").split()]
        except ValueError:
            problems["operators"] = gettext('write "all" or operator ids separated by commas')
    for key in ("batchSize", "failureThreshold", "noticeHours"):
        if values[key]:
            body[key] = values[key]
    kind = values["kind"] or "redeploy"
    change: dict[str, Any] = {"kind": kind}
    if kind == "sizes":
        sizes = {}
        for service in SERVICE_NAMES:
            parts = {p: values[f"size-{service}-{p}"] for p in ("cores", "memoryMib", "diskGib")}
            if any(parts.values()):
                sizes[service] = parts
        change["sizes"] = sizes
    elif kind == "pin":
        try:
            change["flakeLock"] = json.loads(values["flakeLock"] or "null")
        except json.JSONDecodeError as exc:
            problems["flakeLock"] = gettext(
                "not JSON: %(msg)s (line %(lineno)s)", msg=exc.msg, lineno=exc.lineno
            )
    elif kind == "proxmox":
        change["parameters"] = _proxmox_parameters(values, problems)
    body["change"] = change
    return body, problems


def _proxmox_parameters(values: dict[str, str], problems: dict[str, str]) -> dict[str, Any]:
    """Read the Proxmox parameters given on the form; empty fields stay as they are."""
    parameters: dict[str, Any] = {}
    for name in PROXMOX_FIELDS:
        text = values[f"proxmox-{name}"]
        if not text:
            continue
        if name == "template":
            if not text.isdigit():
                problems["proxmox-template"] = gettext("must be a VMID (a number)")
                continue
            parameters[name] = int(text)
        elif name == "nodes":
            parameters[name] = [] if text == "*" else text.replace(",", " ").split()
        else:
            parameters[name] = text
    return parameters


def _field(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc]
    if parts[:3] == ["change", "proxmox", "parameters"]:
        return f"proxmox-{parts[3]}" if len(parts) > 3 and parts[3] in PROXMOX_FIELDS else "kind"
    if parts[:1] == ["change"]:
        if "sizes" in parts and len(parts) >= 5:
            return f"size-{parts[3]}-{parts[4]}"
        if "flakeLock" in parts:
            return "flakeLock"
        return "sizes" if "sizes" in parts else "kind"
    return parts[0] if parts else "form"


def _form(values: dict[str, str], errors: dict[str, str], status: int) -> Any:
    page = render_template(
        "rollouts/new.html", values=values, errors=errors, kinds=KINDS, services=SERVICE_NAMES
    )
    return page, status


@bp.route("/rollouts/new", methods=["GET", "POST"])
@provider_required
def new() -> Any:
    values = _form_values()
    if request.method == "GET":
        values.update(operators="all", batchSize="1", failureThreshold="1", noticeHours="72")
        return render_template(
            "rollouts/new.html", values=values, errors={}, kinds=KINDS, services=SERVICE_NAMES
        )
    body, errors = _body(values)
    spec = None
    try:
        spec = RolloutSpec.model_validate(body)
    except ValidationError as exc:
        for err in exc.errors(include_url=False):
            errors.setdefault(_field(tuple(err["loc"])), err["msg"].removeprefix("Value error, "))
    if spec is not None and not errors:
        try:
            rollout = creation.create_rollout(
                spec, current_account(), effective.current(), utcnow()
            )
        except PanelError as exc:
            errors[_field(exc.loc or ("form",))] = str(exc)
        else:
            audit(
                Action.ROLLOUT_CREATED, rollout=rollout.id, title=rollout.title, kind=rollout.kind
            )
            flash(
                gettext(
                    "Rollout #%(id)s created: every operator in it has been told.", id=rollout.id
                )
            )
            return redirect(url_for("rollouts.show", rollout_id=rollout.id))
    page = render_template(
        "rollouts/new.html", values=values, errors=errors, kinds=KINDS, services=SERVICE_NAMES
    )
    return page, 400


@bp.route("/rollouts/<int:rollout_id>")
@provider_required
def show(rollout_id: int) -> Any:
    rollout = _rollout(rollout_id)
    board = views.board(rollout)
    page = render_page_or_block("rollouts/show.html", "board", rollout=rollout, board=board)
    finished = rollout.status in (RolloutStatus.CANCELLED, RolloutStatus.FINISHED)
    return page, STOP_POLLING if is_htmx() and finished else 200


@provider_required
def steer(rollout_id: int, action: str) -> Any:
    rollout = _rollout(rollout_id)
    try:
        choices.steer(rollout, action)
    except PanelError as exc:
        flash(str(exc))
    else:
        audit(Action.ROLLOUT_CHANGED, rollout=rollout.id, step=action)
    return redirect(url_for("rollouts.show", rollout_id=rollout_id))


@provider_required
def decide(rollout_id: int, operator_id: int, action: str) -> Any:
    rollout = _rollout(rollout_id)
    try:
        choices.decide(rollout, operator_id, utcnow(), run_now=action == "run-now")
    except PanelError as exc:
        flash(str(exc))
    else:
        audit(Action.ROLLOUT_CHANGED, rollout=rollout.id, target=operator_id, step=action)
    return redirect(url_for("rollouts.show", rollout_id=rollout_id))


def add_steering_rules(blueprint: Blueprint, steer: Any, decide: Any) -> None:
    """Give each of the rollout's steps and decisions its own POST route (named in OpenAPI)."""
    for step in choices.STEPS:
        blueprint.add_url_rule(
            f"/rollouts/<int:rollout_id>/{step}",
            f"steer_{step}",
            steer,
            methods=["POST"],
            defaults={"action": step},
        )
    for decision in choices.DECISIONS:
        blueprint.add_url_rule(
            f"/rollouts/<int:rollout_id>/operators/<int:operator_id>/{decision}",
            f"decide_{decision}",
            decide,
            methods=["POST"],
            defaults={"action": decision},
        )


add_steering_rules(bp, steer, decide)


@bp.route("/updates/<int:rollout_id>/schedule", methods=["POST"])
@operator_required
def schedule(rollout_id: int) -> Any:
    operator = current_account()
    target = choices.target_of(rollout_id, operator.id)
    run_now = request.form.get("now") == "1"
    at = None
    if not run_now:
        try:
            at = datetime.fromisoformat(request.form.get("at", ""))
        except ValueError:
            flash(gettext("Pick one of your maintenance windows."))
            return redirect(url_for("configurations.dashboard"))
    try:
        choices.schedule(target, utcnow(), at=at, run_now=run_now)
    except PanelError as exc:
        flash(str(exc))
        return redirect(url_for("configurations.dashboard"))
    audit(Action.ROLLOUT_SCHEDULED, rollout=rollout_id, at=str(target.scheduled_for))
    flash(
        gettext("The update runs now.")
        if run_now
        else gettext("Your update moves to the window you picked.")
    )
    return redirect(url_for("configurations.dashboard"))
