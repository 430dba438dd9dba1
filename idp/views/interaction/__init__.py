"""The interaction's pages: the steps a person walks between the portal's request and the code.

``GET /interaction/<id>`` shows the current step; each step's form posts to its own URL, and
every POST answers with a 303 (to the next step, or to the portal) or shows the step again with
what to correct. An interaction can only be continued by the browser that started it
(``idp_browser`` cookie) and only once per step.

The pages only turn forms into values and outcomes into pages: the step engine
(``idp.oauth.steps``) decides, claims the step once, records, audits and continues. One table,
:data:`PAGES`, holds a page per step, in the order the flow may ask for them.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import Blueprint

from idp.oauth.steps import StepContext
from idp.views.interaction import (
    agreement,
    choose,
    consent,
    login,
    scan,
    second_factor,
    verify,
)
from idp.views.interaction.common import Answer, StepPage, continue_to, expired, opened
from idp.views.web import services

bp = Blueprint("interaction", __name__, url_prefix="/interaction")

# step -> its page (render and submit); one per step of ``Services.steps`` (checked when the
# application starts).
PAGES: dict[str, StepPage] = {
    "login": login.PAGE,
    "second_factor": second_factor.PAGE,
    "agreement": agreement.PAGE,
    "verify": verify.PAGE,
    "choose": choose.PAGE,
    "consent": consent.PAGE,
}


@bp.get("/<interaction_id>")
def show(interaction_id: str) -> Answer:
    ctx = opened(interaction_id)
    if ctx is None or ctx.interaction.step not in PAGES:
        return expired()
    return PAGES[ctx.interaction.step].render(ctx)


def _at(step: str, handle: Callable[[StepContext], Answer]) -> Callable[[str], Answer]:
    """A view for one form of ``step``: the interaction must be this browser's and at ``step``."""

    def view(interaction_id: str) -> Answer:
        ctx = opened(interaction_id)
        if ctx is None or ctx.interaction.step != step:
            return expired()
        return handle(ctx)

    return view


# Each step's form posts to its own URL: (rule, endpoint, method, step, handler). The login step
# also has the forms by phone number and SMS code, registration, and the scan-to-log-in.
FORMS: list[tuple[str, str, str, str, Callable[[StepContext], Answer]]] = [
    *((f"/{step}", step, "POST", step, page.submit) for step, page in PAGES.items()),
    ("/login/sms", "sms_login_page", "GET", "login", login.render_sms),
    ("/login/sms", "sms_login", "POST", "login", login.submit_sms),
    ("/register", "register_page", "GET", "login", login.render_register),
    ("/register", "register", "POST", "login", login.submit_register),
    ("/scan", "scan_login", "GET", "login", scan.start),
]
for rule, endpoint, method, step, handle in FORMS:
    bp.add_url_rule(f"/<interaction_id>{rule}", endpoint, _at(step, handle), methods=[method])


# The scan-to-log-in's waiting page and the QR frame on the login page say themselves why a
# browser cannot continue (docs/scan-login.md).
bp.add_url_rule("/<interaction_id>/scan/wait", "scan_wait", scan.wait, methods=["GET"])
bp.add_url_rule("/<interaction_id>/scan/frame", "scan_frame", scan.frame, methods=["GET"])


@bp.post("/<interaction_id>/abort")
def abort(interaction_id: str) -> Answer:
    """Cancel at any step: ``access_denied`` to the portal."""
    ctx = opened(interaction_id)
    if ctx is None:
        return expired()
    return continue_to(services().steps.abort(ctx))
