"""The provider's settings page: one form per external system, with a connection test."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from fedipanel.audit.log import Action
from fedipanel.core.sections import Section
from fedipanel.provider_settings import store
from fedipanel.provider_settings.registry import SECTIONS, section
from fedipanel.settings import effective
from fedipanel.settings.sources import PRECEDENCE, Source
from fedipanel.web.access import provider_required
from fedipanel.web.audit import audit

bp = Blueprint("provider_settings", __name__, url_prefix="/provider/settings")


def _section_or_404(name: str) -> Section:
    found = section(name)
    if found is None:
        abort(404, "No such settings section.")
    return found


def _page(errors: dict[str, dict[str, str]], submitted: dict[str, Any], status: int = 200) -> Any:
    settings = effective.current()
    shown: dict[str, dict[str, dict[str, Any]]] = {}
    for sec in SECTIONS:
        shown[sec.name] = {}
        for f in sec.fields:
            value = settings.provider[f.key]
            saved = value.source == Source.SAVED
            shown[sec.name][f.key] = {
                # A default is a placeholder, so that saving the form does not pin it.
                "value": "" if f.secret else submitted.get(f.key, value.text if saved else ""),
                "effective": value.text or "",
                "placeholder": (value.text if value.source == Source.DEFAULT else None)
                or f.placeholder,
                "is_set": saved,
                "fixed": settings.fixed(f.key),
                "source": value.source,
            }
    page = render_template(
        "provider_settings/index.html",
        sections=SECTIONS,
        shown=shown,
        errors=errors,
        precedence=PRECEDENCE,
        problems=settings.problems,
    )
    return page, status


@bp.route("")
@provider_required
def index() -> Any:
    return _page({}, {})


@bp.route("/<name>", methods=["POST"])
@provider_required
def save(name: str) -> Response | Any:
    sec = _section_or_404(name)
    settings = effective.current()
    submitted = {f.key: request.form.get(f.key, "").strip() for f in sec.fields}
    if sec.validate is not None:
        entered = {k: v for k, v in submitted.items() if v}
        problems = sec.validate({**settings.values(sec.keys), **entered})
        if problems:
            flash(f"{sec.title}: nothing was saved; correct the fields marked below.", "error")
            return _page({sec.name: problems}, submitted, 422)
    store.save(sec, submitted, clear=request.form.getlist("clear"), fixed=settings.fixed)
    changed = sorted({k for k, v in submitted.items() if v} | set(request.form.getlist("clear")))
    audit(Action.SETTINGS_CHANGED, section=sec.name, fields=changed)
    effective.forget()
    flash(f"{sec.title} settings saved.")
    return redirect(url_for("provider_settings.index", _anchor=sec.name))


@bp.route("/<name>/test", methods=["POST"])
@provider_required
def test(name: str) -> str:
    """Check the saved settings against the real system and say what is wrong."""
    sec = _section_or_404(name)
    if sec.test is None:
        abort(404, "This section has no connection test.")
    try:
        problems = sec.test(effective.current().values(sec.keys))
    except Exception as exc:  # a test must always answer in plain words
        problems = [f"The test itself failed: {type(exc).__name__}: {exc}"]
    return render_template("provider_settings/_test_result.html", section=sec, problems=problems)
