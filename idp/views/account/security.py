"""The person's own security (``/account/security``; natural-person agreement clause 6): the
overview (password age, the latest logins, the active sessions, and the place where second
factors are shown: ``partials/security_factors.html``, included when it exists), the login
history, the active SSO sessions with "end this session" and "end all other sessions" (as a
logout: grants end, portals hear through the back channel), and the password change
(``idp.identity.security.AccountSecurity``).

Every account page shows a reminder when the password is older than
``IDP_PASSWORD_REMINDER_DAYS`` (``password_reminder`` in the templates of this blueprint): a
reminder only, never forced (NIST SP 800-63B 5.1.1.2).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext

from idp.models import Account
from idp.views import cookies
from idp.views.account import bp, shown_time, signed_in
from idp.views.password_login import MAX_PASSWORD_LENGTH
from idp.views.realname import message
from idp.views.web import services

MAX_SID_LENGTH = 64
LATEST_LOGINS = 5
METHOD_LABELS = {
    "password": lazy_gettext("Password"),
    "sms": lazy_gettext("SMS code"),
    "scan": lazy_gettext("Scan with the app"),
    "registration": lazy_gettext("Registration"),
}
AMR_LABELS = {
    "pwd": lazy_gettext("Password"),
    "sms": lazy_gettext("SMS code"),
    "otp": lazy_gettext("Authenticator app code"),
    "hwk": lazy_gettext("Passkey"),
    "pop": lazy_gettext("Passkey"),
    "swk": lazy_gettext("Passkey"),
    "mca": lazy_gettext("Scan with the app"),
    "user": lazy_gettext("Confirmed on your phone"),
}
NOTICES = {
    "ended": lazy_gettext("The session was ended. The portals it logged in to were told."),
    "others": lazy_gettext("Your other sessions were ended. The portals were told."),
    "none": lazy_gettext("There was no such session. Nothing was changed."),
    "password": lazy_gettext("Your password was changed."),
}


@bp.app_context_processor
def password_reminder_context() -> dict[str, Any]:
    """``password_reminder``: the age in days of the signed-in person's password when the
    account pages should remind them to change it, else None. Read from the account the page
    already loaded (``g.account``): no extra query."""
    account = g.get("account")
    if not isinstance(account, Account):
        return {"password_reminder": None}
    security = services().security
    if not security.reminder_due(account):
        return {"password_reminder": None}
    return {"password_reminder": security.password_age_days(account)}


def _portal_names(client_ids: list[str | None]) -> dict[str, str]:
    return services().portals.names(c for c in client_ids if c)


def _login_rows(account: Account, limit: int | None = None) -> list[dict[str, Any]]:
    rows = services().security.logins(account.id)
    if limit is not None:
        rows = rows[:limit]
    names = _portal_names([row.client_id for row in rows])
    return [
        {
            "time": shown_time(row.created_at),
            "client_id": row.client_id or "",
            "portal": names.get(row.client_id, row.client_id) if row.client_id else "",
            "method": row.method,
            "method_label": str(METHOD_LABELS.get(row.method, row.method)),
            "network": row.ip_network or "",
            "user_agent": row.user_agent or "",
        }
        for row in rows
    ]


def _session_rows(account: Account) -> list[dict[str, Any]]:
    app_services = services()
    current = g.get("login_session")
    sessions = sorted(
        app_services.sso.sessions_of(account.id), key=lambda s: s.created_at, reverse=True
    )
    logins = app_services.login_history.by_ids(account.id, [s.login_id or "" for s in sessions])
    names = _portal_names([c for s in sessions for c in s.clients])
    rows = []
    for session in sessions:
        login = logins.get(session.login_id or "")
        rows.append(
            {
                "sid": session.sid,
                "current": current is not None and current.sid == session.sid,
                "started": shown_time(datetime.fromtimestamp(session.auth_time, UTC)),
                "methods": [str(AMR_LABELS.get(m, m)) for m in session.amr],
                "portals": [names.get(c, c) for c in session.clients],
                "network": login.ip_network if login is not None and login.ip_network else "",
                "user_agent": login.user_agent if login is not None and login.user_agent else "",
            }
        )
    # The browser's own session first.
    return sorted(rows, key=lambda row: not row["current"])


def _notice() -> tuple[str | None, bool]:
    code = request.args.get("done", "")
    notice = NOTICES.get(code)
    return (str(notice) if notice else None), code != "none"


@bp.get("/security")
@signed_in
def security(account: Account) -> Any:
    app_services = services()
    notice, notice_ok = _notice()
    return render_template(
        "account_security.html",
        current="security",
        notice=notice,
        notice_ok=notice_ok,
        password_changed=shown_time(account.password_changed_at),
        password_age_days=app_services.security.password_age_days(account),
        reminder_days=app_services.security.reminder_days,
        logins=_login_rows(account, LATEST_LOGINS),
        sessions=_session_rows(account),
    )


@bp.get("/security/history")
@signed_in
def security_history(account: Account) -> Any:
    return render_template(
        "account_login_history.html",
        current="security",
        logins=_login_rows(account),
        retention_days=services().config.LOGIN_HISTORY_DAYS,
    )


@bp.get("/security/sessions")
@signed_in
def security_sessions(account: Account) -> Any:
    notice, notice_ok = _notice()
    return render_template(
        "account_sessions.html",
        current="security",
        sessions=_session_rows(account),
        notice=notice,
        notice_ok=notice_ok,
    )


@bp.post("/security/sessions/end")
@signed_in
def security_session_end(account: Account) -> Any:
    """End one of the person's other sessions, as a logout does (back-channel logout to its
    portals). The browser's own session ends with "Log out"."""
    sid = request.form.get("sid", "")[:MAX_SID_LENGTH]
    app_services = services()
    current = g.get("login_session")
    ended = (
        bool(sid)
        and (current is None or current.sid != sid)
        and app_services.sso.end_one_of(account.id, sid, "ended_by_user", request.remote_addr)
    )
    return redirect(url_for("account.security_sessions", done="ended" if ended else "none"), 303)


@bp.post("/security/sessions/end-others")
@signed_in
def security_sessions_end_others(account: Account) -> Any:
    ended = services().sso.end_others(
        account.id, request.cookies.get(cookies.SESSION), "ended_by_user", request.remote_addr
    )
    return redirect(url_for("account.security_sessions", done="others" if ended else "none"), 303)


PASSWORD_ORDER = ("current_password", "password", "password_confirm")


def _render_password(
    errors: dict[str, str] | None = None, problem: str | None = None, status: int = 200
) -> Any:
    return render_template(
        "account_password.html",
        current="security",
        action_url=url_for("account.security_password"),
        errors=errors or {},
        problem=problem,
        end_others=request.form.get("end_others") == "yes",
    ), status


@bp.get("/security/password")
@signed_in
def security_password_page(account: Account) -> Any:
    return _render_password()


@bp.post("/security/password")
@signed_in
def security_password(account: Account) -> Any:
    """Change the password: the current one re-entered, the new one by the password policy."""
    form = request.form
    outcome = services().security.change_password(
        account,
        form.get("current_password", "")[:MAX_PASSWORD_LENGTH],
        form.get("password", "")[:MAX_PASSWORD_LENGTH],
        form.get("password_confirm", "")[:MAX_PASSWORD_LENGTH],
        end_others=form.get("end_others") == "yes",
        session_id=request.cookies.get(cookies.SESSION),
        ip_address=request.remote_addr,
    )
    if outcome.done:
        return redirect(url_for("account.security", done="password"), 303)
    if outcome.login is not None:
        if outcome.login.failure == "locked":
            problem = _(
                "This account is locked after too many failed attempts. Contact the service desk."
            )
            return _render_password(problem=problem, status=403)
        problem = _(
            "Too many failed attempts. Try again in %(seconds)s seconds.",
            seconds=outcome.login.wait_seconds,
        )
        return _render_password(problem=problem, status=429)
    errors: dict[str, str] = {}
    for name, code in outcome.errors.items():
        if name == "current_password":
            errors[name] = _("The current password is not correct. Nothing was changed.")
        elif code == "unchanged":
            errors[name] = _("The new password is the same as the current one.")
        else:
            errors[name] = message(name, code)
    status = 401 if "current_password" in errors else 400
    return _render_password(errors, status=status)
