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

from flask import Blueprint

from idp.views.interaction import agreement, choose, consent, login, verify
from idp.views.interaction.common import Answer, StepPage, continue_to, expired, opened
from idp.views.web import services

bp = Blueprint("interaction", __name__, url_prefix="/interaction")

# step -> its page (render and submit), in the order of ``idp.oauth.authorize.next_step``.
PAGES: dict[str, StepPage] = {
    "login": login.PAGE,
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


def _submit(interaction_id: str, step: str) -> Answer:
    ctx = opened(interaction_id)
    if ctx is None or ctx.interaction.step != step:
        return expired()
    return PAGES[step].submit(ctx)


@bp.post("/<interaction_id>/login", endpoint="login")
def login_submit(interaction_id: str) -> Answer:
    return _submit(interaction_id, "login")


@bp.post("/<interaction_id>/agreement", endpoint="agreement")
def agreement_submit(interaction_id: str) -> Answer:
    return _submit(interaction_id, "agreement")


@bp.post("/<interaction_id>/verify", endpoint="verify")
def verify_submit(interaction_id: str) -> Answer:
    return _submit(interaction_id, "verify")


@bp.post("/<interaction_id>/choose", endpoint="choose")
def choose_submit(interaction_id: str) -> Answer:
    return _submit(interaction_id, "choose")


@bp.post("/<interaction_id>/consent", endpoint="consent")
def consent_submit(interaction_id: str) -> Answer:
    return _submit(interaction_id, "consent")


# The login step's other forms: by phone number and SMS code, and registration.
@bp.get("/<interaction_id>/login/sms")
def sms_login_page(interaction_id: str) -> Answer:
    ctx = opened(interaction_id)
    if ctx is None or ctx.interaction.step != "login":
        return expired()
    return login.render_sms(ctx)


@bp.post("/<interaction_id>/login/sms")
def sms_login(interaction_id: str) -> Answer:
    ctx = opened(interaction_id)
    if ctx is None or ctx.interaction.step != "login":
        return expired()
    return login.submit_sms(ctx)


@bp.get("/<interaction_id>/register")
def register_page(interaction_id: str) -> Answer:
    ctx = opened(interaction_id)
    if ctx is None or ctx.interaction.step != "login":
        return expired()
    return login.render_register(ctx)


@bp.post("/<interaction_id>/register")
def register(interaction_id: str) -> Answer:
    ctx = opened(interaction_id)
    if ctx is None or ctx.interaction.step != "login":
        return expired()
    return login.submit_register(ctx)


@bp.post("/<interaction_id>/abort")
def abort(interaction_id: str) -> Answer:
    """Cancel at any step: ``access_denied`` to the portal."""
    ctx = opened(interaction_id)
    if ctx is None:
        return expired()
    return continue_to(services().steps.abort(ctx))
