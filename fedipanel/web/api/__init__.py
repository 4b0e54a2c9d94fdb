"""The JSON API under /api/v1, authenticated with bearer tokens (no cookies, so no CSRF)."""

from flask import Blueprint

from fedipanel.web.api import (
    audit,
    buckets,
    deletions,
    identity,
    mail,
    maintenance,
    notices,
    operator,
    operators,
    preferences,
    rollouts,
    services,
    usage,
)

bp = Blueprint("api", __name__, url_prefix="/api/v1")
bp.register_blueprint(operator.bp)
bp.register_blueprint(buckets.bp)
bp.register_blueprint(deletions.bp)
bp.register_blueprint(operators.bp)
bp.register_blueprint(audit.bp)
bp.register_blueprint(usage.bp)
bp.register_blueprint(mail.bp)
bp.register_blueprint(maintenance.bp)
bp.register_blueprint(rollouts.bp)
bp.register_blueprint(services.bp)
bp.register_blueprint(identity.bp)
bp.register_blueprint(notices.bp)
bp.register_blueprint(preferences.bp)
