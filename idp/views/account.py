"""The user space (``/account``): what a logged-in person sees and manages about their account.

- Their own agreement acceptances (issue #3, item 3: "the user sees their own acceptance
  history").
- The portals they consented to, with a withdrawal per portal (PIPL article 15: consent can be
  withdrawn, as easily as it was given); withdrawing revokes the portal's tokens at once.
- What each portal received and when (PIPL article 44, the right to know; natural-person
  agreement clause 5): claim names from the disclosure log, never their values.
- Cancellation of the account (natural-person agreement clause 8; PIPL article 47).

Every page needs the SSO session; without it the person is sent to ``/account/login`` and back
to a local ``/account`` path only (no open redirect, RFC 9700 section 4.11). Names are masked
on screen. Every POST carries the CSRF token and answers with a 303.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from urllib.parse import urlsplit

from flask import Blueprint, Response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext

from idp.identity.login import authenticate
from idp.models import Account
from idp.views import cookies
from idp.views.interaction import SCOPE_DESCRIPTIONS, describe_claim
from idp.views.password_login import log_in
from idp.views.web import provider

bp = Blueprint("account", __name__, url_prefix="/account")

# Times are shown in China Standard Time, the time of the authority and its portals.
DISPLAY_TIMEZONE = timezone(timedelta(hours=8))
MAX_NEXT_LENGTH = 512
MAX_CLIENT_ID_LENGTH = 64

USER_TYPES = {
    "natural_person": lazy_gettext("Natural person"),
    "legal_person": lazy_gettext("Legal person (organisation)"),
}
VERIFICATION_LEVELS = {
    "L0": lazy_gettext("L0: declared by you, not verified"),
}
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


def mask_name(name: str | None) -> str:
    """Only the first character, the rest as ``*`` (王小明 -> 王**)."""
    if not name:
        return ""
    return name[0] + "*" * (len(name) - 1)


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


def _signed_in() -> Account | None:
    _session, account = provider().current_session(request.cookies.get(cookies.SESSION))
    return account


def _to_login(target: str | None = None) -> Response:
    if target is None:
        query = request.query_string.decode("latin-1")
        target = request.path + (f"?{query}" if query else "")
    return redirect(url_for("account.login", next=target), 303)


@bp.after_request
def _no_store(response: Response) -> Response:
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
            username=username,
            error=error,
        ),
        status,
    )


@bp.get("/login")
def login_page() -> Response | tuple[str, int]:
    if _signed_in() is not None:
        return redirect(safe_next(request.args.get("next")), 303)
    return _render_login()


@bp.post("/login")
def login() -> Response | tuple[str, int]:
    outcome = log_in(via="account")
    if outcome.session_id is None:
        return _render_login(
            request.form.get("username", "")[:128], outcome.message, outcome.status
        )
    prov = provider()
    session_id = outcome.session_id
    response = redirect(safe_next(request.args.get("next")), 303)
    cookies.set_session(response, session_id, prov.config)
    return response


@bp.post("/logout")
def logout() -> Response:
    """End the SSO session: destroyed server-side, cookie cleared, and every portal of the
    session told through the back channel (as at the end-session endpoint)."""
    prov = provider()
    session_id = request.cookies.get(cookies.SESSION)
    prov.end_session(session_id, reason="account_logout", ip_address=request.remote_addr)
    response = redirect(url_for("account.logged_out"), 303)
    cookies.clear_session(response, prov.config)
    return response


@bp.get("/logged-out")
def logged_out() -> str:
    return render_template("logged_out.html", message=None)


# -- pages -------------------------------------------------------------------------------------


@bp.get("")
def overview() -> Response | str:
    account = _signed_in()
    if account is None:
        return _to_login()
    level = account.verification_level
    return render_template(
        "account_overview.html",
        current="overview",
        masked_name=mask_name(account.name),
        username=account.username,
        user_type=str(USER_TYPES.get(account.user_type, account.user_type)),
        verification_level=str(
            VERIFICATION_LEVELS.get(level) or _("%(level)s: verified", level=level)
        ),
    )


@bp.get("/agreements")
def agreements() -> Response | str:
    account = _signed_in()
    if account is None:
        return _to_login()
    prov = provider()
    history = prov.agreement_history(account.id)
    names = prov.client_names(row.client_id for row, _title in history)
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
    account = _signed_in()
    if account is None:
        return _to_login()
    prov = provider()
    found = prov.consents_of(account.id)
    names = prov.client_names(consent.client_id for consent in found)
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
    account = _signed_in()
    if account is None:
        return _to_login(url_for("account.consents"))
    client_id = request.form.get("client_id", "")
    withdrawn = 0 < len(client_id) <= MAX_CLIENT_ID_LENGTH and provider().withdraw_consent(
        account, client_id
    )
    return redirect(url_for("account.consents", withdrawn="1" if withdrawn else "0"), 303)


@bp.get("/disclosures")
def disclosures() -> Response | str:
    account = _signed_in()
    if account is None:
        return _to_login()
    prov = provider()
    records = prov.disclosures_of(account.id)
    names = prov.client_names(record.client_id for record in records)
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
    if _signed_in() is None:
        return _to_login()
    return _render_cancel()


@bp.post("/cancel")
def cancel() -> Response | tuple[str, int]:
    """Natural-person agreement clause 8: the person cancels, with the password re-entered
    (counted in the login throttle) and an explicit confirmation. Sessions end, tokens are
    revoked, portals are told, personal data is erased (``Provider.cancel_account``)."""
    account = _signed_in()
    if account is None:
        return _to_login(url_for("account.cancel_page"))
    if request.form.get("confirm_cancel") != "yes":
        return _render_cancel(_("Tick the box to confirm that you want to cancel."), 400)
    prov = provider()
    password = request.form.get("password", "")[:1024]
    result = authenticate(
        prov.db,
        prov.passwords,
        prov.throttle,
        account.username,
        password,
        request.remote_addr or "",
    )
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
    prov.cancel_account(account)
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
