"""The JSON API under /api/v1, authenticated with bearer tokens (no cookies, so no CSRF)."""

from flask import Blueprint

from fedipanel.web.api import audit, buckets, deletions, notices, operator, operators, usage

bp = Blueprint("api", __name__, url_prefix="/api/v1")
bp.register_blueprint(operator.bp)
bp.register_blueprint(buckets.bp)
bp.register_blueprint(deletions.bp)
bp.register_blueprint(operators.bp)
bp.register_blueprint(audit.bp)
bp.register_blueprint(usage.bp)
bp.register_blueprint(notices.bp)
