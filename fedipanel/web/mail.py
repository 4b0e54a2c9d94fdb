"""The dashboard's "Send test mail": a signed message through the relay, and what it said."""

from __future__ import annotations

from flask import Blueprint

from fedipanel.audit.log import Action
from fedipanel.errors import PanelError
from fedipanel.mail.sending import send_test_mail
from fedipanel.settings import effective
from fedipanel.web.access import current_account, operator_required
from fedipanel.web.audit import audit
from fedipanel.web.htmx import render_page_or_block

bp = Blueprint("mail", __name__, url_prefix="/mail")


@bp.route("/test", methods=["POST"])
@operator_required
def test() -> str:
    """Send the test message; answer the result fragment (the whole page without htmx)."""
    try:
        result = send_test_mail(current_account(), effective.current())
    except PanelError as exc:
        return render_page_or_block(
            "mail/test_result.html", "result", result=None, problem=exc.message
        )
    audit(Action.MAIL_TEST_SENT, accepted=result.accepted, code=result.code)
    return render_page_or_block("mail/test_result.html", "result", result=result, problem=None)
