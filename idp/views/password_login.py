"""The password step shared by the portal login (interaction) and the user space login.

One place for the rules: the same generic messages whatever failed (OWASP Authentication Cheat
Sheet), every outcome audited without personal data, and a new session id at every login
(OWASP Session Management Cheat Sheet: no session fixation).
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import request
from flask_babel import gettext as _

from idp.identity.login import authenticate
from idp.models import Account
from idp.views import cookies
from idp.views.web import provider


@dataclass
class PasswordLogin:
    account: Account | None = None
    session_id: str | None = None
    message: str | None = None  # shown on the form when the login failed
    status: int = 200


def log_in(client_id: str | None = None, via: str | None = None) -> PasswordLogin:
    """Check the submitted ``username`` and ``password``; on success start a new session."""
    username = request.form.get("username", "")[:128]
    password = request.form.get("password", "")[:1024]
    if not username.strip() or not password:
        return PasswordLogin(message=_("Please fill in both fields."), status=400)
    prov = provider()
    details = {"via": via} if via else {}
    result = authenticate(
        prov.db, prov.passwords, prov.throttle, username, password, request.remote_addr or ""
    )
    if result.account is None:
        prov.audit(
            "login_failed",
            client_id=client_id,
            ip_address=request.remote_addr,
            details={"reason": result.failure, **details},
        )
        if result.failure == "throttled":
            message = _(
                "Too many failed attempts. Try again in %(seconds)s seconds.",
                seconds=result.wait_seconds,
            )
            return PasswordLogin(message=message, status=429)
        if result.failure == "locked":
            message = _(
                "This account is locked after too many failed attempts. Contact the service desk."
            )
            return PasswordLogin(message=message, status=403)
        if result.failure == "suspended":
            message = _("This account is suspended. Contact the service desk.")
            return PasswordLogin(message=message, status=403)
        return PasswordLogin(message=_("Invalid username or password."), status=401)

    account = result.account
    old_session = request.cookies.get(cookies.SESSION)
    if old_session:
        # The browser's previous session ends like any logout: its portals are told and its
        # refresh tokens stop (a new login always starts a new session with a new sid).
        prov.end_session(old_session, reason="new_login", ip_address=request.remote_addr)
    session_id, _session = prov.start_session(account, ["pwd"])
    prov.audit(
        "login",
        actor=account.id,
        account_id=account.id,
        client_id=client_id,
        ip_address=request.remote_addr,
        details=details,
    )
    return PasswordLogin(account=account, session_id=session_id)
