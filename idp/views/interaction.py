"""The interaction: the steps a person walks between the portal's request and the code.

``GET /interaction/<id>`` shows the current step; each step's form posts to its own URL, and
every POST answers with a 303 (to the next step, or to the portal). An interaction can only be
continued by the browser that started it (``idp_browser`` cookie) and only once per step.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

from flask import Blueprint, Response, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext

from idp.identity import levels
from idp.models import Account
from idp.oauth.provider import Interaction
from idp.oauth.responses import AuthorizationResponse
from idp.views import cookies, realname
from idp.views.password_login import log_in, log_in_with_code, start_session_for
from idp.views.web import allow_form_redirect_to, authorization_response, error_page, provider

bp = Blueprint("interaction", __name__, url_prefix="/interaction")

# Scopes that release no claim of their own; claims are listed one by one.
SCOPE_DESCRIPTIONS = {
    "openid": lazy_gettext("Your identity (who you are)"),
    "offline_access": lazy_gettext("Keep you signed in (offline access)"),
}
CLAIM_DESCRIPTIONS = {
    "sub": lazy_gettext("Your account identifier"),
    "username": lazy_gettext("Your username"),
    "name": lazy_gettext("Your real name"),
    "preferred_username": lazy_gettext("Your username"),
    "updated_at": lazy_gettext("When your profile was last updated"),
    "id_number": lazy_gettext("Your full identity document number"),
    "bank_card": lazy_gettext("Your bank card number"),
    "user_type": lazy_gettext("Whether you are a natural or a legal person"),
    "verification_level": lazy_gettext("How well your identity is verified (level)"),
    "verified_at": lazy_gettext("When your identity was last verified"),
    "phone_number": lazy_gettext("Your mobile phone number"),
    "phone_number_verified": lazy_gettext("Whether your phone number is proven"),
    "id_number_masked": lazy_gettext("Your ID number, partly hidden"),
}


def describe_claim(name: str) -> str:
    return str(CLAIM_DESCRIPTIONS.get(name, name))


def _load(interaction_id: str) -> Interaction | None:
    interaction = provider().load_interaction(interaction_id, request.cookies.get(cookies.BROWSER))
    if interaction is not None:
        g.ui_locales = interaction.request.ui_locales
        # Every step's form may end in the 303 back to the portal.
        allow_form_redirect_to(interaction.request.redirect_uri)
    return interaction


def _expired() -> tuple[str, int]:
    return error_page(
        400,
        _("Something is wrong with the request"),
        _("The login request has expired. Return to the portal and start again."),
    )


def _continue(outcome: AuthorizationResponse | Interaction | None) -> Response | tuple[str, int]:
    if outcome is None:
        return _expired()
    if isinstance(outcome, Interaction):
        return redirect(url_for("interaction.show", interaction_id=outcome.id), 303)
    return authorization_response(outcome)


def _render_login(
    interaction: Interaction, username: str = "", error: str | None = None, status: int = 200
) -> tuple[str, int]:
    return (
        render_template(
            "login.html",
            client_name=interaction.client_name,
            action_url=url_for("interaction.login", interaction_id=interaction.id),
            cancel_url=url_for("interaction.abort", interaction_id=interaction.id),
            register_url=url_for("interaction.register_page", interaction_id=interaction.id),
            sms_url=url_for("interaction.sms_login_page", interaction_id=interaction.id),
            recover_url=url_for("account.recover_page"),
            username=username,
            error=error,
        ),
        status,
    )


@bp.get("/<interaction_id>")
def show(interaction_id: str) -> Response | tuple[str, int]:
    interaction = _load(interaction_id)
    if interaction is None:
        return _expired()
    if interaction.step == "login":
        return _render_login(interaction, username=interaction.request.login_hint or "")
    if interaction.step == "agreement":
        return _render_agreement(interaction)
    if interaction.step == "verify":
        return _render_verify(interaction)
    if interaction.step == "choose":
        return _render_choose(interaction)
    return _render_consent(interaction)


def _render_consent(interaction: Interaction) -> tuple[str, int]:
    claim_request = provider().claim_request(interaction.request)
    scopes = [
        {"name": scope, "description": str(SCOPE_DESCRIPTIONS[scope])}
        for scope in interaction.request.scopes
        if scope in SCOPE_DESCRIPTIONS
    ]
    return render_template(
        "consent.html",
        client_name=interaction.client_name,
        action_url=url_for("interaction.consent", interaction_id=interaction.id),
        scopes=scopes,
        claims=[
            {"name": name, "description": describe_claim(name)} for name in claim_request.ordinary
        ],
        sensitive_claims=[
            {"name": name, "description": describe_claim(name)} for name in claim_request.sensitive
        ],
    ), 200


def _render_agreement(interaction: Interaction, error: str | None = None) -> tuple[str, int]:
    prov = provider()
    _session, account = prov.current_session(request.cookies.get(cookies.SESSION))
    requirement = prov.pending_agreement(account) if account else None
    if requirement is None:
        return _expired()
    return render_template(
        "agreement.html",
        client_name=interaction.client_name,
        action_url=url_for("interaction.agreement", interaction_id=interaction.id),
        title=requirement.title,
        version=requirement.version,
        mode=requirement.mode,
        accepted_version=requirement.accepted_version,
        changes=requirement.changes,
        error=error,
    ), 400 if error else 200


@bp.post("/<interaction_id>/login")
def login(interaction_id: str) -> Response | tuple[str, int]:
    interaction = _load(interaction_id)
    if interaction is None or interaction.step != "login":
        return _expired()
    outcome = log_in(client_id=interaction.request.client_id)
    if outcome.session_id is None:
        username = request.form.get("username", "")[:128]
        return _render_login(interaction, username, outcome.message, outcome.status)
    interaction.progress.logged_in_here = True
    answer = _continue(provider().resume(interaction, outcome.session_id))
    return _with_session(answer, outcome.session_id)


Answer = Response | tuple[str, int]


class Approved(NamedTuple):
    interaction: Interaction
    account: Account


def _approved(interaction_id: str, step: str, invalid: Callable[[], Answer]) -> Approved | Answer:
    """What the approve/deny steps share: the interaction must be at ``step``; ``deny`` ends the
    login with ``access_denied``; a session that ended meanwhile goes back to the login."""
    interaction = _load(interaction_id)
    if interaction is None or interaction.step != step:
        return _expired()
    prov = provider()
    decision = request.form.get("decision")
    if decision not in {"approve", "deny"}:
        return invalid()
    if decision == "deny":
        return _continue(prov.abort(interaction))
    _session, account = prov.current_session(request.cookies.get(cookies.SESSION))
    if account is None:
        interaction.progress.logged_in_here = False
        return _continue(prov.resume(interaction, None))
    return Approved(interaction, account)


def _invalid_decision() -> tuple[str, int]:
    return error_page(
        400,
        _("Something is wrong with the request"),
        _("The portal sent an invalid request."),
        "invalid_request",
    )


@bp.post("/<interaction_id>/consent")
def consent(interaction_id: str) -> Answer:
    approved = _approved(interaction_id, "consent", _invalid_decision)
    if not isinstance(approved, Approved):
        return approved
    interaction, account = approved
    prov = provider()
    if not prov.take_step(interaction):
        return _expired()  # the same form submitted twice at once: one of them counts
    claim_request = prov.claim_request(interaction.request)
    ticked = request.form.getlist("sensitive_claims")
    prov.record_consent(account, interaction.request.client_id, claim_request, ticked)
    prov.audit(
        "consent_granted",
        actor=account.id,
        account_id=account.id,
        client_id=interaction.request.client_id,
        details={
            "scopes": list(claim_request.scopes),
            "claims": list(claim_request.ordinary),
            "sensitive_granted": sorted(set(ticked) & set(claim_request.sensitive)),
            "sensitive_refused": sorted(set(claim_request.sensitive) - set(ticked)),
        },
    )
    interaction.progress.consented_here = True
    return _continue(prov.proceed(interaction, request.cookies.get(cookies.SESSION)))


@bp.post("/<interaction_id>/agreement")
def agreement(interaction_id: str) -> Answer:
    """Registration agreement acceptance as part of login; declining ends the login."""
    approved = _approved(interaction_id, "agreement", _expired)
    if not isinstance(approved, Approved):
        return approved
    interaction, account = approved
    prov = provider()
    requirement = prov.pending_agreement(account)
    version_id = request.form.get("version_id", "")
    if requirement is None or requirement.version.id != version_id:
        # A stale or forged form: the text shown is not what must be accepted now.
        return _expired()
    if requirement.mode == "accept" and request.form.get("accept_agreement") != "yes":
        return _render_agreement(
            interaction, _("Tick the box to confirm that you have read and accept the agreement.")
        )
    if not prov.take_step(interaction):
        return _expired()  # the same form submitted twice at once: one of them counts
    prov.record_agreement(
        account,
        version_id,
        client_id=interaction.request.client_id,
        ip_address=request.remote_addr,
        user_agent=request.user_agent.string,
    )
    prov.audit(
        "agreement_accepted" if requirement.mode == "accept" else "agreement_notified",
        actor=account.id,
        account_id=account.id,
        client_id=interaction.request.client_id,
        details={"kind": requirement.kind, "version": requirement.version.version},
    )
    return _continue(prov.proceed(interaction, request.cookies.get(cookies.SESSION)))


# -- login by phone number and SMS code ---------------------------------------------------------


def _render_sms_login(
    interaction: Interaction,
    phone: str = "",
    error: str | None = None,
    notice: str | None = None,
    status: int = 200,
) -> tuple[str, int]:
    return render_template(
        "login_sms.html",
        client_name=interaction.client_name,
        action_url=url_for("interaction.sms_login", interaction_id=interaction.id),
        password_url=url_for("interaction.show", interaction_id=interaction.id),
        phone=phone,
        error=error,
        notice=notice,
    ), status


@bp.get("/<interaction_id>/login/sms")
def sms_login_page(interaction_id: str) -> Answer:
    interaction = _load(interaction_id)
    if interaction is None or interaction.step != "login":
        return _expired()
    return _render_sms_login(interaction)


@bp.post("/<interaction_id>/login/sms")
def sms_login(interaction_id: str) -> Answer:
    interaction = _load(interaction_id)
    if interaction is None or interaction.step != "login":
        return _expired()
    outcome = log_in_with_code(client_id=interaction.request.client_id)
    if outcome.session_id is None:
        phone = request.form.get("phone", "")[:32]
        return _render_sms_login(
            interaction, phone, outcome.message, outcome.notice, outcome.status
        )
    interaction.progress.logged_in_here = True
    answer = _continue(provider().resume(interaction, outcome.session_id))
    return _with_session(answer, outcome.session_id)


# -- registration inside login ------------------------------------------------------------------


def _render_register(interaction: Interaction, state: realname.FormState) -> tuple[str, int]:
    return render_template(
        "register.html",
        client_name=interaction.client_name,
        action_url=url_for("interaction.register", interaction_id=interaction.id),
        login_url=url_for("interaction.show", interaction_id=interaction.id),
        **realname.registration_context(state),
    ), state.status


@bp.get("/<interaction_id>/register")
def register_page(interaction_id: str) -> Answer:
    interaction = _load(interaction_id)
    if interaction is None or interaction.step != "login":
        return _expired()
    return _render_register(interaction, realname.FormState())


@bp.post("/<interaction_id>/register")
def register(interaction_id: str) -> Answer:
    """Real-name registration; on success the person is logged in and the same authorization
    request goes on (same portal, same state)."""
    interaction = _load(interaction_id)
    if interaction is None or interaction.step != "login":
        return _expired()
    outcome = realname.register()
    if outcome.account is None:
        return _render_register(interaction, outcome.state)
    session_id = start_session_for(
        outcome.account, ["sms"], client_id=interaction.request.client_id, via="registration"
    )
    if outcome.state.notice:
        # Told on the next page of ours: the consent page, or any later visit (base.html).
        flash(outcome.state.notice)
    interaction.progress.logged_in_here = True
    return _with_session(_continue(provider().resume(interaction, session_id)), session_id)


def _with_session(answer: Answer, session_id: str) -> Response:
    response = answer if isinstance(answer, Response) else Response(answer[0], answer[1])
    cookies.set_session(response, session_id, provider().config)
    return response


# -- step-up: verifying identity further to reach the portal's level ---------------------------


def _render_verify(interaction: Interaction, state: realname.FormState | None = None) -> Answer:
    prov = provider()
    _session, account = prov.current_session(request.cookies.get(cookies.SESSION))
    if account is None:
        return _expired()
    state = state or realname.FormState()
    target = prov.required_level(interaction.request)
    return render_template(
        "verify.html",
        client_name=interaction.client_name,
        action_url=url_for("interaction.verify", interaction_id=interaction.id),
        cancel_url=url_for("interaction.verify", interaction_id=interaction.id),
        current_level=realname.level_label(account.verification_level),
        required_level=realname.level_label(target) if target else None,
        options=realname.verification_options(account, target),
        **state.context(),
    ), state.status


@bp.post("/<interaction_id>/verify")
def verify(interaction_id: str) -> Answer:
    """Step-up (issue: real-name registration, item 6): a check that reaches the portal's level
    continues the login; giving up tells the portal ``unmet_authentication_requirements``."""
    interaction = _load(interaction_id)
    if interaction is None or interaction.step != "verify":
        return _expired()
    prov = provider()
    if request.form.get("decision") == "deny":
        return _continue(prov.give_up_step_up(interaction))
    _session, account = prov.current_session(request.cookies.get(cookies.SESSION))
    if account is None:
        interaction.progress.logged_in_here = False
        return _continue(prov.resume(interaction, None))
    target = prov.required_level(interaction.request)
    checked, state = realname.verify(account, target)
    if checked is None or not levels.at_least(checked.level_after, target):
        return _render_verify(interaction, state)
    return _continue(prov.resume(interaction, request.cookies.get(cookies.SESSION)))


# -- choosing whom to act as (scope ``entity``) -------------------------------------------------

OPTION_REASONS = {
    "not_covered": lazy_gettext(
        "Your authorisation does not cover the matters this portal handles."
    ),
    "pending": lazy_gettext("You have not confirmed this authorisation yet (see My companies)."),
    "expired": lazy_gettext("Your authorisation has expired or is not yet valid."),
    "entity_inactive": lazy_gettext("The company's account is suspended."),
    "agreement": lazy_gettext(
        "The legal representative must first accept the updated legal-person agreement."
    ),
    "level": lazy_gettext(
        "Your identity must be verified to level L2 or above to act for a company."
    ),
}
ROLE_LABELS = {
    "legal_representative": lazy_gettext("Legal representative"),
    "administrator": lazy_gettext("Administrator"),
    "handler": lazy_gettext("Handler"),
}
GRADE_LABELS = {
    "view": lazy_gettext("View"),
    "apply": lazy_gettext("Apply"),
    "sign": lazy_gettext("Sign"),
}


def _render_choose(interaction: Interaction, error: str | None = None) -> Answer:
    prov = provider()
    _session, account = prov.current_session(request.cookies.get(cookies.SESSION))
    if account is None:
        return _expired()
    options = []
    for option in prov.acting_options(interaction.request, account):
        scope = option.delegation.scope if option.delegation else None
        options.append(
            {
                "id": option.entity.id,
                "name": option.entity.name,
                "uscc": option.entity.uscc,
                "usable": option.delegation is not None,
                "role": str(ROLE_LABELS.get(option.delegation.role, ""))
                if option.delegation
                else "",
                "grade": str(GRADE_LABELS.get(scope.grade, "")) if scope else "",
                "reason": str(OPTION_REASONS.get(option.reason or "", "")),
            }
        )
    return render_template(
        "choose.html",
        client_name=interaction.client_name,
        action_url=url_for("interaction.choose", interaction_id=interaction.id),
        cancel_url=url_for("interaction.abort", interaction_id=interaction.id),
        options=options,
        error=error,
    ), 400 if error else 200


@bp.post("/<interaction_id>/choose")
def choose(interaction_id: str) -> Answer:
    """Legal-person issue, item 4: act as oneself or for a company where a confirmed grant
    (or a role) covers the portal's matters; ``acting_as`` is ``self`` or the company's id."""
    interaction = _load(interaction_id)
    if interaction is None or interaction.step != "choose":
        return _expired()
    prov = provider()
    _session, account = prov.current_session(request.cookies.get(cookies.SESSION))
    if account is None:
        interaction.progress.logged_in_here = False
        return _continue(prov.resume(interaction, None))
    acting_as = request.form.get("acting_as", "")
    usable = {
        option.entity.id
        for option in prov.acting_options(interaction.request, account)
        if option.delegation is not None
    }
    if acting_as != "self" and acting_as not in usable:
        return _render_choose(interaction, _("Choose yourself or one of the companies offered."))
    if not prov.take_step(interaction):
        return _expired()
    interaction.progress.acting_as = acting_as
    return _continue(prov.proceed(interaction, request.cookies.get(cookies.SESSION)))


@bp.post("/<interaction_id>/abort")
def abort(interaction_id: str) -> Response | tuple[str, int]:
    interaction = _load(interaction_id)
    if interaction is None:
        return _expired()
    return _continue(provider().abort(interaction))
