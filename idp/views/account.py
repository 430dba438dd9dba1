"""The user space (``/account``): what a logged-in person sees and manages about their account.

- Their own agreement acceptances (issue #3, item 3: "the user sees their own acceptance
  history").
- The portals they consented to, with a withdrawal per portal (PIPL article 15: consent can be
  withdrawn, as easily as it was given); withdrawing revokes the portal's tokens at once.
- What each portal received and when (PIPL article 44, the right to know; natural-person
  agreement clause 5): claim names from the disclosure log, never their values.
- Cancellation of the account (natural-person agreement clause 8; PIPL article 47).
- Real-name data (clause 4(3): keep it current): the masked profile and the verification evidence,
  a new phone number (SMS code to it, password re-entered), further verification (to L3), a
  corrected name or ID number (the level drops until the registry confirms it again).
- Registration outside a portal login (``/account/register``) and password recovery by SMS code
  to the account's phone (``/account/recover``).

Every page needs the SSO session; without it the person is sent to ``/account/login`` and back
to a local ``/account`` path only (no open redirect, RFC 9700 section 4.11). Names are masked
on screen. Every POST carries the CSRF token and answers with a 303.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Response,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext

from idp.identity import documents
from idp.identity.login import throttle_key
from idp.identity.password_policy import check_password
from idp.identity.people import Application
from idp.identity.sms import SendResult, SmsUnavailable
from idp.models import Account
from idp.views import cookies, realname
from idp.views.labels import SCOPE_DESCRIPTIONS, describe_claim
from idp.views.password_login import confirm_own_password, log_in, start_session_for
from idp.views.web import services

bp = Blueprint("account", __name__, url_prefix="/account")

# Times are shown in China Standard Time, the time of the authority and its portals.
DISPLAY_TIMEZONE = timezone(timedelta(hours=8))
MAX_NEXT_LENGTH = 512
MAX_CLIENT_ID_LENGTH = 64

CHANNELS = {
    "id_token": lazy_gettext("ID token (at login)"),
    "userinfo": lazy_gettext("User information request"),
    "introspection": lazy_gettext("Token check by the portal"),
}
ACTIONS = {
    "accepted": lazy_gettext("Accepted"),
    "notified": lazy_gettext("Notified"),
}
describe = describe_claim


def shown_time(value: datetime) -> dict[str, str]:
    local = value.astimezone(DISPLAY_TIMEZONE)
    return {"iso": value.isoformat(timespec="seconds"), "text": local.strftime("%Y-%m-%d %H:%M")}


def safe_next(value: str | None) -> str:
    """A local path inside the user space, or the overview: never another site."""
    default = url_for("account.overview")
    if not value or len(value) > MAX_NEXT_LENGTH or not value.isprintable() or "\\" in value:
        return default
    parts = urlsplit(value)
    if parts.scheme or parts.netloc or ".." in parts.path:
        return default
    if parts.path != "/account" and not parts.path.startswith("/account/"):
        return default
    return value


def current_account() -> Account | None:
    _session, account = services().sso.current(request.cookies.get(cookies.SESSION))
    return account


def to_login(target: str | None = None) -> Response:
    if target is None:
        query = request.query_string.decode("latin-1")
        target = request.path + (f"?{query}" if query else "")
    return redirect(url_for("account.login", next=target), 303)


def signed_in(view: Callable[[Account], Any]) -> Callable[[], Any]:
    """A user-space page for the logged-in person; anyone else goes to the login first and
    comes back to the same page."""

    @functools.wraps(view)
    def wrapper() -> Any:
        account = current_account()
        if account is None:
            return to_login(None if request.method == "GET" else request.path)
        return view(account)

    return wrapper


@bp.after_request
def no_store(response: Response) -> Response:
    # Personal data: never kept in shared or browser caches.
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    return response


# -- login and logout --------------------------------------------------------------------------


def _render_login(
    username: str = "", error: str | None = None, status: int = 200
) -> tuple[str, int]:
    return (
        render_template(
            "login.html",
            client_name=None,
            action_url=url_for("account.login", next=safe_next(request.args.get("next"))),
            cancel_url=None,
            register_url=url_for("account.register_page"),
            recover_url=url_for("account.recover_page"),
            username=username,
            error=error,
        ),
        status,
    )


@bp.get("/login")
def login_page() -> Response | tuple[str, int]:
    if current_account() is not None:
        return redirect(safe_next(request.args.get("next")), 303)
    return _render_login()


@bp.post("/login")
def login() -> Response | tuple[str, int]:
    outcome = log_in(via="account")
    if outcome.session_id is None:
        return _render_login(
            request.form.get("username", "")[:128], outcome.message, outcome.status
        )
    prov = services()
    session_id = outcome.session_id
    response = redirect(safe_next(request.args.get("next")), 303)
    cookies.set_session(response, session_id, prov.config)
    return response


@bp.post("/logout")
def logout() -> Response:
    """End the SSO session: destroyed server-side, cookie cleared, and every portal of the
    session told through the back channel (as at the end-session endpoint)."""
    prov = services()
    session_id = request.cookies.get(cookies.SESSION)
    prov.sso.end(session_id, reason="account_logout", ip_address=request.remote_addr)
    response = redirect(url_for("account.logged_out"), 303)
    cookies.clear_session(response, prov.config)
    return response


@bp.get("/logged-out")
def logged_out() -> str:
    return render_template("logged_out.html", message=None)


# -- pages -------------------------------------------------------------------------------------


@bp.get("")
def overview() -> Response | str:
    account = current_account()
    if account is None:
        return to_login()
    masked = services().people.profile(account).masked
    return render_template(
        "account_overview.html",
        current="overview",
        masked_name=masked["name"] or "",
        masked_id_number=masked["id_number"] or "",
        masked_phone=masked["phone"] or "",
        id_type=str(realname.ID_TYPE_LABELS.get(account.id_type or "", "")),
        username=account.username,
        user_type=str(realname.USER_TYPE_LABELS.get(account.user_type, account.user_type)),
        verification_level=realname.level_label(account.verification_level),
        verified_at=shown_time(account.verified_at) if account.verified_at else None,
    )


@bp.get("/agreements")
def agreements() -> Response | str:
    account = current_account()
    if account is None:
        return to_login()
    prov = services()
    history = prov.agreements.history(account.id)
    names = prov.portals.names(row.client_id for row, _title in history)
    rows = [
        {
            "kind": row.kind,
            "title": title,
            "version": row.version,
            "action": str(ACTIONS.get(row.action, row.action)),
            "time": shown_time(row.accepted_at),
            "portal": names.get(row.client_id, row.client_id) if row.client_id else "",
            "sha256_prefix": row.text_sha256[:16],
            "sha256": row.text_sha256,
        }
        for row, title in history
    ]
    return render_template(
        "account_agreements.html", current="agreements", rows=rows, terms_url="/terms"
    )


@bp.get("/consents")
def consents() -> Response | str:
    account = current_account()
    if account is None:
        return to_login()
    prov = services()
    found = prov.consents.of_account(account.id)
    names = prov.portals.names(consent.client_id for consent in found)
    rows = []
    for consent in found:
        granted = [c for c in consent.sensitive_claims if c in consent.claims_asked]
        sensitive_asked = [
            c for c in consent.claims_asked if c in prov.sensitive_claims or c in granted
        ]
        rows.append(
            {
                "client_id": consent.client_id,
                "portal": names.get(consent.client_id, consent.client_id),
                "scope_names": consent.scopes,
                "scopes": [
                    str(SCOPE_DESCRIPTIONS[s]) for s in consent.scopes if s in SCOPE_DESCRIPTIONS
                ],
                "claims": [
                    {"name": c, "description": describe(c)}
                    for c in consent.claims_asked
                    if c not in sensitive_asked
                ],
                "sensitive_granted": [{"name": c, "description": describe(c)} for c in granted],
                "sensitive_refused": [
                    {"name": c, "description": describe(c)}
                    for c in sensitive_asked
                    if c not in granted
                ],
                "time": shown_time(consent.updated_at),
            }
        )
    notice = None
    if request.args.get("withdrawn") == "1":
        notice = _(
            "Your consent was withdrawn. The portal's existing tokens no longer work, and it "
            "will ask for your consent again at your next login."
        )
    elif request.args.get("withdrawn") == "0":
        notice = _("There is no consent for that portal to withdraw. Nothing was changed.")
    return render_template(
        "account_consents.html",
        current="consents",
        rows=rows,
        notice=notice,
        notice_ok=request.args.get("withdrawn") == "1",
    )


@bp.post("/consents/withdraw")
def withdraw() -> Response:
    """PIPL article 15: withdraw a consent; the portal's refresh and access tokens stop at once."""
    account = current_account()
    if account is None:
        return to_login(url_for("account.consents"))
    client_id = request.form.get("client_id", "")
    withdrawn = 0 < len(client_id) <= MAX_CLIENT_ID_LENGTH and services().consents.withdraw(
        account.id, client_id
    )
    return redirect(url_for("account.consents", withdrawn="1" if withdrawn else "0"), 303)


@bp.get("/disclosures")
def disclosures() -> Response | str:
    account = current_account()
    if account is None:
        return to_login()
    prov = services()
    records = prov.disclosures.for_account(account.id)
    names = prov.portals.names(record.client_id for record in records)
    rows = [
        {
            "time": shown_time(record.created_at),
            "client_id": record.client_id,
            "portal": names.get(record.client_id, record.client_id),
            "channel": record.channel,
            "channel_label": str(CHANNELS.get(record.channel, record.channel)),
            "claims": [{"name": c, "description": describe(c)} for c in record.claims],
        }
        for record in records
    ]
    return render_template("account_disclosures.html", current="disclosures", rows=rows)


# -- cancellation ------------------------------------------------------------------------------


def _render_cancel(error: str | None = None, status: int = 200) -> tuple[str, int]:
    return render_template("account_cancel.html", current="cancel", error=error), status


@bp.get("/cancel")
def cancel_page() -> Response | tuple[str, int]:
    if current_account() is None:
        return to_login()
    return _render_cancel()


@bp.post("/cancel")
def cancel() -> Response | tuple[str, int]:
    """Natural-person agreement clause 8: the person cancels, with the password re-entered
    (counted in the login throttle) and an explicit confirmation. Sessions end, tokens are
    revoked, portals are told, personal data is erased (``Provider.cancel_account``)."""
    account = current_account()
    if account is None:
        return to_login(url_for("account.cancel_page"))
    if request.form.get("confirm_cancel") != "yes":
        return _render_cancel(_("Tick the box to confirm that you want to cancel."), 400)
    prov = services()
    if any(
        role.role == "legal_representative" and role.entity.status != "cancelled"
        for role in prov.entities.roles_of(account.id)
    ):
        # The company must not be left without its legal representative.
        return _render_cancel(
            _(
                "You are the legal representative of a company registered here. Cancel the "
                "company's account first, or have the new legal representative take it over."
            ),
            409,
        )
    result = confirm_own_password(account)
    if result.account is None or result.account.id != account.id:
        prov.audit(
            "account_cancel_failed",
            actor=account.id,
            account_id=account.id,
            ip_address=request.remote_addr,
            details={"reason": result.failure},
        )
        if result.failure == "throttled":
            message = _(
                "Too many failed attempts. Try again in %(seconds)s seconds.",
                seconds=result.wait_seconds,
            )
            return _render_cancel(message, 429)
        if result.failure == "locked":
            message = _(
                "This account is locked after too many failed attempts. Contact the service desk."
            )
            return _render_cancel(message, 403)
        return _render_cancel(_("The password is not correct. Nothing was changed."), 401)
    prov.accounts.cancel(account)
    response = redirect(url_for("account.cancelled"), 303)
    cookies.clear_session(response, prov.config)
    return response


@bp.get("/cancelled")
def cancelled() -> str:
    return render_template(
        "logged_out.html",
        title=_("Account cancelled"),
        message=_("Your account has been cancelled and your personal data erased."),
    )


# -- real-name data: verification, phone, identity (clause 4(3)) --------------------------------


def _render_verification(account: Account, state: realname.FormState | None = None) -> Any:
    state = state or realname.FormState()
    evidence = [
        {
            "check": str(realname.CHECK_LABELS.get(row.check, row.check)),
            "result": str(realname.RESULT_LABELS.get(row.result, row.result)),
            "result_code": row.result,
            "level": row.level_after,
            "time": shown_time(row.created_at),
            "card_last4": row.detail.get("bank_card_last4"),
        }
        for row in services().people.evidence(account.id)
    ]
    return render_template(
        "account_verification.html",
        current="verification",
        verification_level=realname.level_label(account.verification_level),
        level_code=account.verification_level,
        options=realname.verification_options(account, None),
        action_url=url_for("account.verification"),
        evidence=evidence,
        **state.context(),
    ), state.status


@bp.get("/verification")
@signed_in
def verification_page(account: Account) -> Any:
    return _render_verification(account)


@bp.post("/verification")
@signed_in
def verification(account: Account) -> Any:
    _checked, state = realname.verify(account, None)
    return _render_verification(account, state)


def _confirm_password(account: Account, state: realname.FormState) -> bool:
    """The password re-entered before a change (counted in the login throttle)."""
    result = confirm_own_password(account)
    if result.account is not None:
        return True
    if result.failure == "throttled":
        state.problem = _(
            "Too many failed attempts. Try again in %(seconds)s seconds.",
            seconds=result.wait_seconds,
        )
        state.status = 429
    else:
        state.errors["password"] = _("The password is not correct. Nothing was changed.")
        state.status = 401
    return False


def _render_phone(account: Account, state: realname.FormState | None = None) -> Any:
    state = state or realname.FormState()
    return render_template(
        "account_phone.html",
        current="overview",
        masked_phone=services().people.profile(account).masked["phone"] or "",
        action_url=url_for("account.phone"),
        **state.context(),
    ), state.status


@bp.get("/phone")
@signed_in
def phone_page(account: Account) -> Any:
    return _render_phone(account)


@bp.post("/phone")
@signed_in
def phone(account: Account) -> Any:
    """A new phone number: an SMS code sent to it proves it, and the password is re-entered."""
    prov = services()
    state = realname.FormState(values={"phone": request.form.get("phone", "")[:32]})
    if request.form.get("action") == "send_code":
        realname.send_code(state.values["phone"], "change_phone", state)
        return _render_phone(account, state)
    new_phone = documents.normalize_phone(state.values["phone"])
    if new_phone is None:
        state.fail("phone", "format")
        return _render_phone(account, state)
    if not _confirm_password(account, state):
        return _render_phone(account, state)
    if not realname.check_code(new_phone, "change_phone", state):
        return _render_phone(account, state)
    problem = prov.people.change_phone(account, new_phone)
    if problem:
        state.fail("phone", problem, 409)
        return _render_phone(account, state)
    prov.audit("phone_changed", actor=account.id, account_id=account.id)
    return redirect(url_for("account.overview"), 303)


def _render_identity(account: Account, state: realname.FormState | None = None) -> Any:
    state = state or realname.FormState()
    state.values = state.values or {"id_type": account.id_type or "resident_id"}
    return render_template(
        "account_identity.html",
        current="overview",
        action_url=url_for("account.identity"),
        id_types=[
            {"code": code, "label": str(realname.ID_TYPE_LABELS.get(code, code))}
            for code in documents.ID_TYPES
        ],
        **state.context(),
    ), state.status


@bp.get("/identity")
@signed_in
def identity_page(account: Account) -> Any:
    return _render_identity(account)


@bp.post("/identity")
@signed_in
def identity(account: Account) -> Any:
    """A corrected name or ID number (clause 4(3)): the level drops to L1 and the population
    registry is asked again; a mismatch changes nothing."""
    prov = services()
    state = realname.FormState(values=realname.kept_values(request.form))
    application = Application.from_form(request.form)
    errors = application.validate()
    for name in ("name", "id_type", "id_number"):
        if name in errors:
            state.fail(name, errors[name])
    if state.errors or not _confirm_password(account, state):
        return _render_identity(account, state)
    before = account.verification_level
    corrected = prov.people.correct_identity(account, application)
    if corrected.account is None:
        for name, code in corrected.errors.items():
            state.fail(name, code, 409 if code == "taken" else 400)
        return _render_identity(account, state)
    prov.audit(
        "identity_corrected",
        actor=account.id,
        account_id=account.id,
        details={"level_before": before, "level_after": corrected.account.verification_level},
    )
    return redirect(url_for("account.verification_page"), 303)


# -- registration and recovery outside a portal login -------------------------------------------


@bp.get("/register")
def register_page() -> Any:
    return _render_register(realname.FormState())


def _render_register(state: realname.FormState) -> Any:
    return render_template(
        "register.html",
        client_name=None,
        action_url=url_for("account.register"),
        login_url=url_for("account.login_page"),
        **realname.registration_context(state),
    ), state.status


@bp.post("/register")
def register() -> Any:
    outcome = realname.register()
    if outcome.account is None:
        return _render_register(outcome.state)
    session_id = start_session_for(outcome.account, ["sms"], client_id=None, via="registration")
    if outcome.state.notice:
        flash(outcome.state.notice)  # told on the next page (templates/base.html)
    response = redirect(url_for("account.verification_page"), 303)
    cookies.set_session(response, session_id, services().config)
    return response


def _render_recover(state: realname.FormState) -> Any:
    return render_template(
        "account_recover.html",
        action_url=url_for("account.recover"),
        login_url=url_for("account.login_page"),
        **state.context(),
    ), state.status


@bp.get("/recover")
def recover_page() -> Any:
    return _render_recover(realname.FormState())


@bp.post("/recover")
def recover() -> Any:
    """Password recovery: an SMS code to the phone of the account (found by phone number or ID
    number), then a new password. Unknown identifiers get the same answers; every session and
    token of the account ends."""
    prov = services()
    address = request.remote_addr or ""
    identifier = request.form.get("identifier", "")[:64].strip()
    state = realname.FormState(values={"identifier": identifier})
    account = prov.people.find_by_identifier(identifier) if identifier else None
    phone = prov.people.profile(account).phone if account is not None else None
    if request.form.get("action") == "send_code":
        if not identifier:
            state.errors["identifier"] = _("Enter your phone number or ID number.")
            state.status = 400
            return _render_recover(state)
        target = phone or documents.normalize_phone(identifier) or identifier
        try:
            if phone and account is not None and account.active:
                result = prov.sms.send(phone, "recover", address)
            else:
                result = prov.sms.issue_without_sending(target, "recover", address)
        except SmsUnavailable:
            # Told like an unknown identifier: a failing gateway must not show who exists.
            result = SendResult(sent=True, refused=None)
        if not result.sent:
            state.problem = _(
                "A code was requested a moment ago. Try again in %(seconds)s seconds.",
                seconds=result.wait_seconds,
            )
            state.status = 429
            return _render_recover(state)
        state.notice = _(
            "If an account matches, a code was sent to the phone number registered with it."
        )
        return _render_recover(state)
    # Every answer before the code is proven is the same for known and unknown identifiers:
    # the code first (counted in the login throttle), then what depends on the account.
    password = request.form.get("password", "")[:1024]
    code = (request.form.get("sms_code") or "").strip()
    general = check_password(password)
    if not code:
        state.fail("sms_code", "required")
    if general:
        state.fail("password", general)
    elif password != request.form.get("password_confirm", "")[:1024]:
        state.fail("password_confirm", "mismatch")
    if state.errors:
        return _render_recover(state)
    key = throttle_key(account, identifier)
    verdict = prov.throttle.check(key, address)
    if not verdict.allowed:
        state.problem = _(
            "Too many failed attempts. Try again in %(seconds)s seconds.",
            seconds=max(verdict.wait_seconds, 1),
        )
        state.status = 429
        return _render_recover(state)
    target = phone or documents.normalize_phone(identifier) or identifier
    outcome = prov.sms.check(target, "recover", code) if identifier else "wrong"
    if outcome != "ok" or account is None:
        prov.throttle.record_failure(key, address)
        state.fail("sms_code", outcome if outcome != "ok" else "wrong", 400)
        return _render_recover(state)
    profile = prov.people.profile(account)
    problem = check_password(password, phone=profile.phone, id_number=profile.id_number)
    if problem:
        state.fail("password", problem)
        state.problem = _("Choose another password and request a new code.")
        return _render_recover(state)
    prov.accounts.reset_password(account, password, ip_address=address)
    return redirect(url_for("account.login_page"), 303)
