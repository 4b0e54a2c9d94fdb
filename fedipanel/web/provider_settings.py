"""The provider's settings: an index of the sections and one page per external system, each
with its form and connection test."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext
from werkzeug.wrappers import Response

from fedipanel.audit.log import Action
from fedipanel.core.sections import Section
from fedipanel.provider_settings import store
from fedipanel.provider_settings.registry import SECTIONS, section
from fedipanel.settings import effective
from fedipanel.settings.sources import PRECEDENCE, Source
from fedipanel.web.access import provider_required
from fedipanel.web.audit import audit
from fedipanel.web.changes import AFFECTS, notice_changed
from fedipanel.web.i18n import translated

bp = Blueprint("provider_settings", __name__, url_prefix="/provider/settings")


def _section_or_404(name: str) -> Section:
    found = section(name)
    if found is None:
        abort(404, gettext("No such settings section."))
    return found


def _fields(
    sec: Section, settings: effective.Settings, submitted: dict[str, Any]
) -> dict[str, dict[str, Any]]:
    shown: dict[str, dict[str, Any]] = {}
    for f in sec.fields:
        value = settings.provider[f.key]
        saved = value.source == Source.SAVED
        shown[f.key] = {
            # A default is a placeholder, so that saving the form does not pin it.
            "value": "" if f.secret else submitted.get(f.key, value.text if saved else ""),
            "effective": value.text or "",
            "placeholder": (value.text if value.source == Source.DEFAULT else None)
            or f.placeholder,
            "is_set": saved,
            "fixed": settings.fixed(f.key),
            "source": value.source,
        }
    return shown


def _page(
    sec: Section,
    errors: dict[str, str],
    submitted: dict[str, Any],
    status: int = 200,
    refused: list[str] | None = None,
) -> Any:
    """Render one section's page: its form, what is wrong with it, and its last test."""
    settings = effective.current()
    page = render_template(
        "provider_settings/section.html",
        sec=sec,
        shown=_fields(sec, settings, submitted),
        errors=translated(errors),
        precedence=PRECEDENCE,
        problems=settings.problems,
        refused=refused or [],
        failing=store.failing_tests().get(sec.name),
        affects=AFFECTS.get(sec.name),
    )
    return page, status


class State(enum.StrEnum):
    """What the settings index says of a section."""

    CONFIGURED = "configured"
    SIMULATED = "simulated"
    FAILING = "failing"
    NOT_CONFIGURED = "not configured"


def state_of(sec: Section, settings: effective.Settings, failing: Mapping[str, Any]) -> State:
    """Return whether a section is configured, simulated, failing or not configured."""
    if sec.name in failing or any(k.split(":")[0] == sec.name for k in settings.problems):
        return State.FAILING
    if any(settings.provider[f.key].source != Source.DEFAULT for f in sec.fields):
        return State.CONFIGURED
    # An external system nobody configured is simulated, unless simulation is forbidden.
    if sec.test is not None and settings.simulate:
        return State.SIMULATED
    return State.NOT_CONFIGURED


@bp.route("")
@provider_required
def index() -> str:
    settings = effective.current()
    failing = store.failing_tests()
    return render_template(
        "provider_settings/index.html",
        sections=[(sec, state_of(sec, settings, failing)) for sec in SECTIONS],
        failing=failing,
        precedence=PRECEDENCE,
    )


@bp.route("/<name>")
@provider_required
def show(name: str) -> Any:
    return _page(_section_or_404(name), {}, {})


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
            flash(
                gettext(
                    "%(title)s: nothing was saved; correct the fields marked below.",
                    title=gettext(sec.title),
                ),
                "error",
            )
            return _page(sec, problems, submitted, 422)
    cleared = request.form.getlist("clear")
    values = _after_save(sec, settings, submitted, cleared)
    tested = values is not None
    failures = _run_test(sec, values) if values is not None else []
    if failures and request.form.get("save_anyway") != "yes":
        flash(
            gettext(
                "%(title)s: the connection test failed, so nothing was saved. Correct the "
                "settings, or save them anyway (deployments will fail until fixed).",
                title=gettext(sec.title),
            ),
            "error",
        )
        return _page(sec, {}, submitted, 422, refused=failures)
    store.save(sec, submitted, clear=cleared, fixed=settings.fixed)
    if tested:
        store.record_test(sec, failures)
    else:
        store.forget_test(sec)
    changed = sorted({k for k, v in submitted.items() if v} | set(cleared))
    audit(Action.SETTINGS_CHANGED, section=sec.name, fields=changed, test_passed=not failures)
    effective.forget()
    if failures:
        flash(
            gettext(
                "%(title)s settings saved although their test failed: deployments will fail "
                "until fixed.",
                title=gettext(sec.title),
            ),
            "error",
        )
    elif tested:
        flash(gettext("%(title)s settings saved and tested.", title=gettext(sec.title)))
    else:
        flash(gettext("%(title)s settings saved.", title=gettext(sec.title)))
    notice_changed(sec.name)
    return redirect(url_for("provider_settings.show", name=sec.name))


def _after_save(
    sec: Section, settings: effective.Settings, submitted: dict[str, str], cleared: list[str]
) -> dict[str, str | None] | None:
    """Return the section's values once saved, or None when that leaves it unconfigured."""
    values = settings.values(sec.keys)
    for f in sec.fields:
        if settings.fixed(f.key):
            continue
        if submitted.get(f.key):
            values[f.key] = submitted[f.key]
        elif f.key in cleared or not f.secret:  # a blank secret keeps the stored one
            values[f.key] = f.default
    return values if _configured(sec, values) else None


def _configured(sec: Section, values: Mapping[str, str | None]) -> bool:
    # Unconfigured sections are simulated: no test to pass, nothing to warn about.
    return sec.test is not None and any(
        values.get(f.key) not in (None, "", f.default) for f in sec.fields
    )


def _run_test(sec: Section, values: Mapping[str, str | None]) -> list[str]:
    assert sec.test is not None  # noqa: S101 - only sections with a test are tested
    try:
        return sec.test(values)
    except Exception as exc:  # a test must always answer in plain words
        return [
            gettext(
                "The test itself failed: %(kind)s: %(error)s",
                kind=type(exc).__name__,
                error=str(exc),
            )
        ]


@bp.route("/<name>/test", methods=["POST"])
@provider_required
def test(name: str) -> str:
    """Check the saved settings against the real system and say what is wrong."""
    sec = _section_or_404(name)
    if sec.test is None:
        abort(404, gettext("This section has no connection test."))
    values = effective.current().values(sec.keys)
    problems = _run_test(sec, values)
    if _configured(sec, values):
        store.record_test(sec, problems)
    return render_template("provider_settings/_test_result.html", section=sec, problems=problems)
