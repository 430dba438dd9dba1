"""The interaction: the steps a person walks between the portal's request and the code.

``GET /interaction/<id>`` shows the current step; each step's form posts to its own URL, and
every POST answers with a 303 (to the next step, or to the portal). An interaction can only be
continued by the browser that started it (``idp_browser`` cookie) and only once per step.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

from flask import Blueprint, Response, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext

from idp.models import Account
from idp.oauth.provider import Interaction
from idp.oauth.responses import AuthorizationResponse
from idp.views import cookies
from idp.views.password_login import log_in
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
    prov, session_id = provider(), outcome.session_id
    interaction.progress.logged_in_here = True
    response = _continue(prov.resume(interaction, session_id))
    if isinstance(response, tuple):
        response = Response(response[0], response[1])
    cookies.set_session(response, session_id, prov.config)
    return response


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


@bp.post("/<interaction_id>/abort")
def abort(interaction_id: str) -> Response | tuple[str, int]:
    interaction = _load(interaction_id)
    if interaction is None:
        return _expired()
    return _continue(provider().abort(interaction))
