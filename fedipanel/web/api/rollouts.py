"""API: the provider's rollouts (create, follow, steer) and operators' choice of time."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, Response, jsonify
from pydantic import ValidationError

from fedipanel.audit.log import Action
from fedipanel.core.configuration import error_list
from fedipanel.core.rollouts import RolloutSpec
from fedipanel.core.validators import DATE_TIME
from fedipanel.db import db
from fedipanel.errors import NotFound, Refused
from fedipanel.rollouts import choices, creation, views
from fedipanel.rollouts.models import Rollout
from fedipanel.settings import effective
from fedipanel.timeutil import utcnow
from fedipanel.web.api.auth import api_operator, provider_token_required, role_token_required
from fedipanel.web.api.params import json_fields, json_object
from fedipanel.web.audit import audit
from fedipanel.web.rollouts import add_steering_rules

bp = Blueprint("rollouts", __name__)


def _rollout(rollout_id: int) -> Rollout:
    rollout = db.session.get(Rollout, rollout_id)
    if rollout is None:
        raise NotFound("no such rollout")
    return rollout


@bp.post("/rollouts")
@provider_token_required
def create() -> Any:
    try:
        spec = RolloutSpec.model_validate(json_object())
    except ValidationError as exc:
        response = jsonify({"errors": error_list(exc)})
        response.status_code = 422
        return response
    rollout = creation.create_rollout(spec, api_operator(), effective.current(), utcnow())
    audit(Action.ROLLOUT_CREATED, rollout=rollout.id, kind=rollout.kind)
    return jsonify({"id": rollout.id, **views.summary(rollout)}), 201


@bp.get("/rollouts")
@role_token_required
def index() -> Any:
    user = api_operator()
    if user.is_provider:
        return jsonify({"rollouts": [views.summary(r) for r in views.rollouts_page()]})
    now = utcnow()
    return jsonify({"rollouts": [views.operator_view(t, now) for t in views.targets_of(user.id)]})


@bp.get("/rollouts/<int:rollout_id>")
@role_token_required
def show(rollout_id: int) -> Any:
    user = api_operator()
    if user.is_provider:
        return jsonify(views.board(_rollout(rollout_id)))
    return jsonify(views.operator_view(choices.target_of(rollout_id, user.id), utcnow()))


def _schedule_body() -> tuple[datetime | None, bool]:
    body = json_object()
    unknown = sorted(set(body) - {"at", "now"})
    if unknown:
        raise Refused(f"unknown field {unknown[0]!r}: send 'at' or 'now'", loc=(unknown[0],))
    run_now = body.get("now", False)
    if not isinstance(run_now, bool):
        raise Refused("must be true or false", loc=("now",))
    at = body.get("at")
    if run_now and at is not None:
        raise Refused("send either 'at' or 'now', not both", loc=("at",))
    if at is None:
        return None, run_now
    if not isinstance(at, str) or not DATE_TIME.fullmatch(at):
        raise Refused("must be a time with its offset, e.g. 2027-01-10T02:00:00+01:00", loc=("at",))
    try:
        return datetime.fromisoformat(at.upper()).astimezone(UTC), run_now
    except (ValueError, OverflowError):
        raise Refused("is not a time that exists in UTC", loc=("at",)) from None


@bp.post("/rollouts/<int:rollout_id>/schedule")
@role_token_required
def schedule(rollout_id: int) -> Any:
    user = api_operator()
    if not user.is_operator:
        return _forbidden("operators choose their own time; use run-now or skip")
    target = choices.target_of(rollout_id, user.id)
    at, run_now = _schedule_body()
    now = utcnow()
    choices.schedule(target, now, at=at, run_now=run_now)
    audit(Action.ROLLOUT_SCHEDULED, rollout=rollout_id, at=str(target.scheduled_for))
    return jsonify(views.operator_view(target, now))


def _forbidden(message: str) -> Response:
    response = jsonify({"errors": [{"loc": [], "msg": message}]})
    response.status_code = 403
    return response


@provider_token_required
def steer(rollout_id: int, action: str) -> Any:
    rollout = _rollout(rollout_id)
    json_fields()
    choices.steer(rollout, action)
    audit(Action.ROLLOUT_CHANGED, rollout=rollout.id, step=action)
    return jsonify(views.board(rollout))


@provider_token_required
def decide(rollout_id: int, operator_id: int, action: str) -> Any:
    rollout = _rollout(rollout_id)
    json_fields()
    choices.decide(rollout, operator_id, utcnow(), run_now=action == "run-now")
    audit(Action.ROLLOUT_CHANGED, rollout=rollout.id, target=operator_id, step=action)
    return jsonify(views.board(rollout))


add_steering_rules(bp, steer, decide)
