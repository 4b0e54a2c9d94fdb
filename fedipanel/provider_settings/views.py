"""The provider's settings page: one form per external system, with a connection test."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from fedipanel.accounts.access import provider_required
from fedipanel.provider_settings import bp, service
from fedipanel.provider_settings.sections import SECTIONS, Section, section


def _section_or_404(name: str) -> Section:
    found = section(name)
    if found is None:
        abort(404, "No such settings section.")
    return found


def _page(errors: dict[str, dict[str, str]], submitted: dict[str, Any], status: int = 200) -> Any:
    shown = {}
    for sec in SECTIONS:
        current = service.section_values(sec)
        shown[sec.name] = {
            f.key: {
                "value": "" if f.secret else submitted.get(f.key, current[f.key] or ""),
                "is_set": current[f.key] is not None,
                "from_env": service.from_environment(f.key),
            }
            for f in sec.fields
        }
    page = render_template(
        "provider_settings/index.html", sections=SECTIONS, shown=shown, errors=errors
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
    submitted = {f.key: request.form.get(f.key, "").strip() for f in sec.fields}
    if sec.validate is not None:
        effective = {**service.section_values(sec), **{k: v for k, v in submitted.items() if v}}
        problems = sec.validate(effective)
        if problems:
            flash(f"{sec.title}: nothing was saved; correct the fields marked below.", "error")
            return _page({sec.name: problems}, submitted, 422)
    service.save(sec, submitted, clear=request.form.getlist("clear"))
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
        problems = sec.test(service.section_values(sec))
    except Exception as exc:  # a test must always answer in plain words
        problems = [f"The test itself failed: {type(exc).__name__}: {exc}"]
    return render_template("provider_settings/_test_result.html", section=sec, problems=problems)
