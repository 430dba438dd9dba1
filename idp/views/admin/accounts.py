"""Accounts in the console (``/admin/accounts``): find, look at, and act on an account.

- **Find** by phone number or ID number (exact, through the blind indexes:
  ``People.find_by_identifier``), by username, or by account id or ``sub``. The search is a POST,
  so what was typed never appears in a URL, a browser history or an access log; the audit event
  records only what kind of identifier it was and whether an account was found.
- **Look**: the masked profile (``Profile.masked``), level, verification evidence, live
  sessions, consents and active grants. Each view is audited (PIPL article 51: access to
  personal information is controlled and traceable).
- **Act** (operators; each with a reason, audited with who, what, when and why):
  suspend (natural-person agreement clause 7: ``AccountLifecycle.suspend`` ends every session
  and token and tells the portals), reinstate, end every session (portals told through the
  back channel, the session's tokens revoked), record an in-person verification at a service
  counter (level L4, ``People.record_counter_verification``, with the counter's reference).

Lookups go through the services (``services().accounts``, ``people``, ``sso``, ``consents``,
``entities``); this module reads the forms and renders the pages.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Blueprint, g, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from idp.identity import documents
from idp.identity.messages import MAX_BODY_LENGTH as MESSAGE_BODY_LENGTH
from idp.identity.messages import MAX_TITLE_LENGTH as MESSAGE_TITLE_LENGTH
from idp.identity.messages import MessageError, authority_draft
from idp.models import Account
from idp.models.base import utcnow
from idp.views.account import shown_last_day, shown_time
from idp.views.admin.auth import audit, console_required, notify, read_reason, read_text
from idp.views.labels import (
    ACCOUNT_STATUS_LABELS,
    CHECK_LABELS,
    GRADE_LABELS,
    GRANT_STATUS_LABELS,
    ID_TYPE_LABELS,
    RESULT_LABELS,
    ROLE_LABELS,
    USER_TYPE_LABELS,
    label,
)
from idp.views.web import services

bp = Blueprint("admin_accounts", __name__, url_prefix="/admin/accounts")

MAX_QUERY_LENGTH = 128
MAX_REFERENCE_LENGTH = 128
Answer = Response | tuple[str, int] | str


# -- finding -----------------------------------------------------------------------------------


def identifier_kind(text: str) -> str:
    """What a typed identifier looks like, for the audit trail (never the value itself)."""
    if documents.normalize_phone(text) is not None:
        return "phone"
    for id_type in documents.ID_TYPES:
        number = documents.normalize_id_number(id_type, text)
        if documents.validate_id_number(id_type, number) is None:
            return "id_number"
    return "username"


def find_account(text: str) -> tuple[Account | None, str]:
    """The account ``text`` names exactly (account id, ``sub``, phone number, ID number or
    username) and the kind of identifier it was."""
    text = text.strip()
    if not text or len(text) > MAX_QUERY_LENGTH:
        return None, "invalid"
    account = services().people.find(text)
    if account is None:
        return None, identifier_kind(text)
    if account.id == text:
        return account, "account_id"
    if account.subject == text:
        return account, "subject"
    if account.username == text:
        return account, "username"
    return account, identifier_kind(text)


def _render_search(query: str = "", error: str | None = None, status: int = 200) -> Answer:
    return (
        render_template("admin/accounts.html", current="accounts", query=query, error=error),
        status,
    )


@bp.get("")
@console_required()
def search_page() -> Answer:
    return _render_search()


@bp.post("/search")
@console_required()
def search() -> Answer:
    """A read, not a change: auditors may search too."""
    query = request.form.get("query", "")[: MAX_QUERY_LENGTH + 1].strip()
    if not query:
        return _render_search(
            error=_("Enter a phone number, ID number, username, account id or sub."), status=400
        )
    account, kind = find_account(query)
    audit(
        "admin_account_search",
        account_id=account.id if account else None,
        details={"by": kind, "found": account is not None},
    )
    if account is None:
        # The query is not echoed back: it may be an ID number.
        return _render_search(error=_("No account matches exactly."), status=404)
    return redirect(url_for("admin_accounts.show", account_id=account.id), 303)


# -- the account page --------------------------------------------------------------------------


def _load(account_id: str) -> Account | None:
    if not account_id or len(account_id) > 36:
        return None
    return services().people.by_id(account_id)


def _time(value: datetime | None) -> dict[str, str] | None:
    return shown_time(value) if value is not None else None


def _view(account: Account) -> dict[str, Any]:
    app_services = services()
    profile = app_services.people.profile(account)
    sessions = app_services.sso.sessions_of(account.id)
    consents = app_services.consents.of_account(account.id)
    now = utcnow()
    english = str(get_locale()) == "en"
    matter_names = {
        entry.code: (entry.name_en or entry.name) if english else entry.name
        for entry in app_services.entities.matters()
    }
    grants = app_services.tokens.active_grants_of(account.id, limit=100)
    names = app_services.portals.names(
        [c for s in sessions for c in s.clients] + [c.client_id for c in consents]
    )
    return {
        "account": account,
        "masked": profile.masked,
        "id_type": account.id_type,
        "id_type_label": str(ID_TYPE_LABELS.get(account.id_type or "", "")),
        "status_label": str(ACCOUNT_STATUS_LABELS.get(account.status, account.status)),
        "user_type_label": str(USER_TYPE_LABELS.get(account.user_type, account.user_type)),
        "created": _time(account.created_at),
        "verified": _time(account.verified_at),
        "evidence": [
            {
                "check": row.check,
                "check_label": str(CHECK_LABELS.get(row.check, row.check)),
                "result_label": str(RESULT_LABELS.get(row.result, row.result)),
                "source": row.source,
                "elements": row.elements,
                "result": row.result,
                "level_before": row.level_before,
                "level_after": row.level_after,
                "reference": row.reference,
                "by_administrator": row.actor not in (None, account.id),
                "actor": row.actor,
                "time": shown_time(row.created_at),
            }
            for row in app_services.people.evidence(account.id)
        ],
        "sessions": [
            {
                "sid": s.sid,
                "since": shown_time(datetime.fromtimestamp(s.auth_time, now.tzinfo)),
                "amr": s.amr,
                "acr": s.acr,
                "portals": [names.get(c, c) for c in s.clients],
            }
            for s in sessions
        ],
        "consents": [
            {
                "client_id": c.client_id,
                "portal": names.get(c.client_id, c.client_id),
                "scopes": c.scopes,
                "claims": c.claims_asked,
                "sensitive": [x for x in c.sensitive_claims if x in c.claims_asked],
                "time": shown_time(c.updated_at),
            }
            for c in consents
        ],
        "grants": [
            {
                "client_id": grant.client_id,
                "portal": grant.client.name,
                "scope": grant.scope,
                "created": shown_time(grant.created_at),
                "expires": shown_time(grant.expires_at),
                "in_session": bool(grant.sid and any(s.sid == grant.sid for s in sessions)),
            }
            for grant in grants
        ],
        # Legal persons (docs/legal-persons.md): the companies the person holds a role in, and
        # the handler grants they received.
        "company_roles": [
            {
                "entity": role.entity.name,
                "uscc": role.entity.uscc,
                "role": str(ROLE_LABELS.get(role.role, role.role)),
                "grade": label(GRADE_LABELS, role.grade) if role.grade else "",
                "matters": [matter_names.get(code, code) for code in role.matters],
            }
            for role in app_services.entities.roles_of(account.id)
        ],
        "handler_grants": [
            {
                "entity": grant.entity.name,
                "uscc": grant.entity.uscc,
                "grade": label(GRADE_LABELS, grant.grade),
                "matters": [matter_names.get(code, code) for code in grant.matters],
                "status": grant.status,
                "status_label": label(GRANT_STATUS_LABELS, grant.status),
                "until": shown_last_day(grant.valid_until),
            }
            for grant in app_services.entities.grants_of(account.id)
        ],
        "is_self": account.id == g.admin_account.id,
    }


def _render_account(
    account: Account,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    status: int = 200,
) -> Answer:
    return (
        render_template(
            "admin/account.html",
            current="accounts",
            errors=errors or {},
            values=values or {},
            **_view(account),
        ),
        status,
    )


def _not_found() -> Answer:
    return _render_search(error=_("There is no such account."), status=404)


@bp.get("/<account_id>")
@console_required()
def show(account_id: str) -> Answer:
    account = _load(account_id)
    if account is None:
        return _not_found()
    audit("admin_account_viewed", account_id=account.id)
    return _render_account(account)


# -- actions (operators) -----------------------------------------------------------------------


def _done(account: Account, message: str) -> Response:
    notify(message)
    return redirect(url_for("admin_accounts.show", account_id=account.id), 303)


def _refuse(account: Account, form: str, field: str, message: str, status: int = 400) -> Answer:
    values = {
        f"{form}.{name}": value for name, value in request.form.items() if name != "csrf_token"
    }
    return _render_account(account, {f"{form}.{field}": message}, values, status)


@bp.post("/<account_id>/suspend")
@console_required(write=True)
def suspend(account_id: str) -> Answer:
    """Natural-person agreement clause 7: sessions end, tokens are revoked, portals are told."""
    account = _load(account_id)
    if account is None:
        return _not_found()
    reason, problem = read_reason()
    if problem:
        return _refuse(account, "suspend", "reason", problem)
    if account.id == g.admin_account.id:
        return _refuse(account, "suspend", "reason", _("You cannot suspend your own account."))
    if not account.active:
        return _refuse(account, "suspend", "reason", _("The account is suspended already."), 409)
    services().accounts.suspend(account, reason, actor=g.admin.account_id)
    return _done(account, _("The account is suspended. Its sessions and tokens have ended."))


@bp.post("/<account_id>/reinstate")
@console_required(write=True)
def reinstate(account_id: str) -> Answer:
    account = _load(account_id)
    if account is None:
        return _not_found()
    reason, problem = read_reason()
    if problem:
        return _refuse(account, "reinstate", "reason", problem)
    if account.active:
        return _refuse(account, "reinstate", "reason", _("The account is not suspended."), 409)
    services().accounts.reinstate(account, reason, actor=g.admin.account_id)
    return _done(account, _("The account is active again. Tokens revoked earlier stay revoked."))


def end_sessions(account: Account, reason: str) -> int:
    """End every SSO session of the account as a logout does: the session's tokens stop and its
    portals are told through the back channel. Returns how many sessions ended."""
    ended = services().sso.end_all_of(account.id, "sessions_ended")
    audit(
        "admin_sessions_ended",
        reason=reason,
        account_id=account.id,
        details={"sessions": ended},
    )
    return ended


@bp.post("/<account_id>/end-sessions")
@console_required(write=True)
def end_all_sessions(account_id: str) -> Answer:
    account = _load(account_id)
    if account is None:
        return _not_found()
    reason, problem = read_reason()
    if problem:
        return _refuse(account, "end_sessions", "reason", problem)
    count = end_sessions(account, reason)
    return _done(account, _("%(count)s sessions ended.", count=count))


@bp.post("/<account_id>/counter-verification")
@console_required(write=True)
def counter_verification(account_id: str) -> Answer:
    """Level L4: the person showed their identity document at a service counter; the operator
    records the counter's reference (docs/verification-levels.md)."""
    account = _load(account_id)
    if account is None:
        return _not_found()
    reference, problem = read_text("reference", MAX_REFERENCE_LENGTH)
    if problem:
        return _refuse(account, "counter", "reference", problem)
    reason, problem = read_reason()
    if problem:
        return _refuse(account, "counter", "reason", problem)
    if account.id_number_sealed is None:
        return _refuse(
            account,
            "counter",
            "reference",
            _("This account has no identity document on record to verify."),
            409,
        )
    if not account.active:
        return _refuse(account, "counter", "reference", _("The account is suspended."), 409)
    if account.id == g.admin_account.id:
        # Four eyes: nobody records their own in-person verification.
        return _refuse(
            account,
            "counter",
            "reference",
            _("Another operator must record your own verification."),
            403,
        )
    # The level, its evidence and the audit row are written in one transaction.
    services().people.record_counter_verification(
        account,
        reference,
        g.admin.account_id,
        action="counter_verification_recorded",
        ip_address=request.remote_addr,
        reason=reason,
    )
    return _done(account, _("The in-person verification is recorded: the account is at level L4."))


@bp.post("/<account_id>/message")
@console_required(write=True)
def send_message(account_id: str) -> Answer:
    """A message from the authority to the person's inbox (clause 4(4); docs/user-space.md):
    essential ones arrive even when the person turned the authority's other messages off."""
    account = _load(account_id)
    if account is None:
        return _not_found()
    title, problem = read_text("title", MESSAGE_TITLE_LENGTH)
    if problem:
        return _refuse(account, "message", "title", problem)
    body, problem = read_text("body", MESSAGE_BODY_LENGTH, multiline=True)
    if problem:
        return _refuse(account, "message", "body", problem)
    link = request.form.get("link", "").strip() or None
    try:
        draft = authority_draft(account.id, title, body, link)
    except MessageError:
        return _refuse(account, "message", "link", _("Enter an https address, or nothing."))
    sent = services().messages.send_from_authority(
        draft,
        essential=request.form.get("essential") == "yes",
        actor=g.admin.account_id,
        via="console",
        ip_address=request.remote_addr,
    )
    if sent is None:
        return _done(
            account,
            _("The person turned off the authority's non-essential messages: nothing was sent."),
        )
    return _done(account, _("The message was sent."))
