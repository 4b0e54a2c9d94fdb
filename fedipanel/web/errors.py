"""Cross-cutting web concerns: security headers, error pages, template helpers."""

from __future__ import annotations

import secrets

from flask import Flask, Response, current_app, jsonify, render_template, request
from flask_babel import gettext
from werkzeug.exceptions import HTTPException

from fedipanel.core.registry import SERVICE_LABELS
from fedipanel.core.text import N_
from fedipanel.db import db
from fedipanel.errors import Conflict, NotFound, PanelError, Refused, Unavailable
from fedipanel.settings.loading import flag

# Browsers keep to HTTPS for a year once they have seen the panel over it.
HSTS = "max-age=31536000; includeSubDomains"
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'self'"
)


KIND_LABELS = {
    "ssh_key": N_("SSH deploy key"),
    "machine": N_("machine"),
    "s3_bucket": N_("S3 bucket"),
    "s3_key": N_("S3 access key"),
    "dns_record": N_("DNS record"),
    "mail": N_("mail settings"),
    "nixos": N_("NixOS configuration"),
}
# The error pages' titles, and the message for an HTTP error raised without one of its own.
TITLES = {
    400: N_("Bad request"),
    403: N_("Not allowed"),
    404: N_("Not found"),
    405: N_("Method not allowed"),
    409: N_("Conflict"),
    413: N_("Too large"),
    422: N_("Not possible"),
    429: N_("Too many requests"),
    503: N_("Unavailable"),
}
DESCRIPTIONS = {
    400: N_("The request could not be understood. Reload the page and try again."),
    403: N_("You are not allowed to open this page."),
    404: N_("This page does not exist, or it is not yours to see."),
    405: N_("This address does not take this kind of request."),
    413: N_("What was sent is too large."),
    429: N_("Too many requests: wait a moment, then try again."),
}


def init_errors(app: Flask) -> None:
    """Register headers, error handlers and template globals."""
    app.jinja_env.filters["kind_label"] = lambda kind: (
        gettext(KIND_LABELS[kind]) if kind in KIND_LABELS else kind
    )
    app.jinja_env.filters["service_label"] = lambda name: SERVICE_LABELS.get(name, name)
    app.after_request(_security_headers)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(PanelError, _panel_error)
    app.add_url_rule("/healthz", "healthz", _healthz)
    app.register_error_handler(Exception, _unexpected_error)


def _healthz() -> Response:
    """Answer load balancers and monitoring: the web process is up."""
    return Response("ok\n", mimetype="text/plain")


def wants_json() -> bool:
    """Return whether the request belongs to the JSON API."""
    return request.path.startswith("/api/")


def _security_headers(response: Response) -> Response:
    response.headers.setdefault("Content-Security-Policy", CSP)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault("X-Frame-Options", "DENY")
    if flag(current_app.config["HTTPS"]):
        response.headers.setdefault("Strict-Transport-Security", HSTS)
    return response


def _http_error(exc: HTTPException) -> Response | tuple[str, int]:
    code = exc.code or 500
    if wants_json():
        response = jsonify({"errors": [{"loc": [], "msg": exc.description or exc.name}]})
        response.status_code = code
        return response
    title = gettext(TITLES[code]) if code in TITLES else exc.name
    message = exc.description
    # Werkzeug's own descriptions are English; a description the panel gave is already translated.
    if message == type(exc).description and code in DESCRIPTIONS:
        message = gettext(DESCRIPTIONS[code])
    return render_template("error.html", code=code, title=title, message=message), code


STATUS: dict[type[PanelError], int] = {NotFound: 404, Conflict: 409, Refused: 422, Unavailable: 503}


def status_of(exc: PanelError) -> int:
    """Return the HTTP status that answers a refusal of this kind."""
    return next((code for kind, code in STATUS.items() if isinstance(exc, kind)), 400)


def _panel_error(exc: PanelError) -> Response | tuple[str, int]:
    code = status_of(exc)
    if wants_json():
        response = jsonify({"errors": [{"loc": list(exc.loc), "msg": exc.message}]})
        response.status_code = code
        return response
    title = gettext(TITLES.get(code, TITLES[422]))
    return render_template("error.html", code=code, title=title, message=exc.message), code


def _unexpected_error(exc: Exception) -> Response | tuple[str, int]:
    if isinstance(exc, HTTPException):
        return _http_error(exc)
    if isinstance(exc, PanelError):
        return _panel_error(exc)
    db.session.rollback()
    # The reference joins what the user sees to the traceback in the log, and reveals nothing.
    reference = secrets.token_hex(6)
    current_app.logger.exception(
        "Unhandled error %s on %s %s", reference, request.method, request.path
    )
    message = gettext(
        "Something went wrong on our side and the request was not completed. If you were "
        "saving something, check whether it was saved before entering it again."
    )
    if wants_json():
        msg = gettext("%(message)s Reference: %(reference)s.", message=message, reference=reference)
        response = jsonify({"errors": [{"loc": [], "msg": msg}]})
        response.status_code = 500
        return response
    page = render_template(
        "error.html",
        code=500,
        title=gettext("Internal error"),
        message=message,
        reference=reference,
        back=_same_site_referrer(),
    )
    return page, 500


def _same_site_referrer() -> str | None:
    """Return the page the user came from, when it is one of the panel's own."""
    referrer = request.referrer
    if referrer and referrer.startswith(request.host_url) and referrer != request.url:
        return referrer
    return None
