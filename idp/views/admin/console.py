"""The console shell: login with a second factor, enrolment, recovery codes, home, logout.

The login (docs/administration.md):

1. ``/admin/login``: username, phone or ID number and password, checked by
   ``idp.views.password_login.check_password_form`` (the same throttle and the same generic
   answers as every login: OWASP Authentication Cheat Sheet). An account that is not an
   administrator gets the answer of a wrong password. A console session starts under a new id
   (no fixation), in the stage ``enrol`` or ``second_factor``, for at most
   ``CONSOLE_PENDING_TTL`` (``idp.services``) seconds.
2. First login, ``/admin/enrol``: a new 160-bit TOTP secret is shown as text and as an
   ``otpauth://`` URI (no script, no external QR service); a code from the app confirms it;
   then ten recovery codes are shown once (``/admin/recovery-codes``).
3. Later logins, ``/admin/verify``: a TOTP code (accepted once) or a recovery code (used up).
   Wrong codes are throttled (``idp.identity.admins``).

Completing the second factor moves the session to ``done`` under another new id. No SSO session
is created or read here.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext
from werkzeug.wrappers import Response

from idp.identity import admins as admin_rules
from idp.models import Administrator
from idp.store.console import ConsoleSession
from idp.views.admin.auth import (
    clear_cookie,
    console_required,
    load_session,
    no_store,
    safe_next,
    set_cookie,
)
from idp.views.password_login import MAX_USERNAME_LENGTH, check_password_form
from idp.views.web import services

bp = Blueprint("admin", __name__, url_prefix="/admin")

ROLE_LABELS = {
    "operator": lazy_gettext("Operator"),
    "auditor": lazy_gettext("Auditor (read only)"),
}
MAX_CODE_LENGTH = 64

Answer = Response | tuple[str, int] | str


@bp.after_request
def _no_store(response: Response) -> Response:
    return no_store(response)


def _audit(action: str, account_id: str | None = None, **details: Any) -> None:
    services().audit(
        action,
        actor=account_id,
        account_id=account_id,
        ip_address=request.remote_addr,
        details={"via": "console", **details},
    )


def _next() -> str | None:
    return safe_next(request.args.get("next"))


# -- step 1: password --------------------------------------------------------------------------


def _render_login(username: str = "", error: str | None = None, status: int = 200) -> Answer:
    return (
        render_template(
            "admin/login.html",
            action_url=url_for("admin.login", next=_next()),
            username=username,
            error=error,
            logged_out=request.args.get("logged_out") == "1",
        ),
        status,
    )


@bp.get("/login")
def login_page() -> Answer:
    if load_session() is not None:
        return redirect(_next() or url_for("admin.home"), 303)
    return _render_login()


@bp.post("/login")
def login() -> Answer:
    username = request.form.get("username", "")[:MAX_USERNAME_LENGTH]
    checked = check_password_form(via="admin_console")
    if checked.account is None:
        return _render_login(username, checked.message, checked.status)
    admin = services().admins.find(checked.account.id)
    if admin is None:
        # The right password of an account that is no administrator: the same answer as a
        # wrong one, so the console does not tell who its administrators are.
        _audit("admin_login_failed", checked.account.id, reason="not_administrator")
        return _render_login(username, _("Invalid username or password."), 401)
    old = request.cookies.get("idp_admin")
    if old:
        services().console_sessions.destroy(old)
    if admin.enrolled:
        stage, target = "second_factor", url_for("admin.verify_page", next=_next())
    else:
        services().admins.begin_enrolment(admin)
        stage, target = "enrol", url_for("admin.enrol_page")
    session_id, _session = services().console_sessions.create(
        account_id=admin.account_id, stage=stage, security_stamp=admin.account.security_stamp
    )
    _audit("admin_password_accepted", admin.account_id, next_step=stage)
    response = redirect(target, 303)
    set_cookie(response, session_id, services().config)
    return response


# -- step 2a: enrolment (first login) ----------------------------------------------------------


def _pending(stage: str) -> tuple[str, ConsoleSession, Administrator] | Response:
    found = load_session(stage)
    if found is None:
        return no_store(redirect(url_for("admin.login_page"), 303))
    return found


def _render_enrol(admin: Administrator, error: str | None = None, status: int = 200) -> Answer:
    secret = services().admins.pending_secret(admin)
    if secret is None:
        secret = services().admins.begin_enrolment(admin)
    issuer = urlsplit(services().issuer).netloc
    label = admin.account.username or admin.account_id[:8]
    return (
        render_template(
            "admin/enrol.html",
            secret=secret,
            secret_grouped=admin_rules.grouped(secret),
            otpauth_uri=admin_rules.otpauth_uri(secret, issuer, label),
            issuer=issuer,
            label=label,
            action_url=url_for("admin.enrol"),
            error=error,
        ),
        status,
    )


def _code_failure(outcome: admin_rules.SecondFactor) -> tuple[str, int]:
    if outcome.failure == "throttled":
        return (
            _(
                "Too many wrong codes. Try again in %(seconds)s seconds.",
                seconds=outcome.wait_seconds,
            ),
            429,
        )
    return _("The code is not correct, or was used already. Try the next code."), 401


@bp.get("/enrol")
def enrol_page() -> Answer:
    found = _pending("enrol")
    if isinstance(found, Response):
        return found
    return _render_enrol(found[2])


@bp.post("/enrol")
def enrol() -> Answer:
    found = _pending("enrol")
    if isinstance(found, Response):
        return found
    session_id, session, admin = found
    code = request.form.get("code", "")[:MAX_CODE_LENGTH]
    if not code.strip():
        return _render_enrol(admin, _("Enter the six-digit code your app shows."), 400)
    outcome = services().admins.confirm_enrolment(admin, code)
    if not outcome.ok:
        _audit(
            "admin_second_factor_failed", admin.account_id, stage="enrol", reason=outcome.failure
        )
        message, status = _code_failure(outcome)
        return _render_enrol(admin, message, status)
    session.recovery_codes = outcome.recovery_codes
    new_id = services().console_sessions.advance(session_id, session, "done")
    _audit("admin_totp_enrolled", admin.account_id)
    _audit("admin_login", admin.account_id, second_factor="totp")
    response = redirect(url_for("admin.recovery_codes"), 303)
    set_cookie(response, new_id, services().config)
    return response


@bp.get("/recovery-codes")
@console_required()
def recovery_codes() -> Answer:
    """The recovery codes just created, shown once: the session forgets them here."""
    session_id, session = g.console_session
    codes = session.recovery_codes
    if not codes:
        return redirect(url_for("admin.home"), 303)
    session.recovery_codes = []
    services().console_sessions.save(session_id, session)
    return render_template("admin/recovery_codes.html", current="home", codes=codes)


# -- step 2b: second factor (later logins) -----------------------------------------------------


def _render_verify(error: str | None = None, status: int = 200) -> Answer:
    return (
        render_template(
            "admin/verify.html", action_url=url_for("admin.verify", next=_next()), error=error
        ),
        status,
    )


@bp.get("/verify")
def verify_page() -> Answer:
    found = _pending("second_factor")
    if isinstance(found, Response):
        return found
    return _render_verify()


@bp.post("/verify")
def verify() -> Answer:
    found = _pending("second_factor")
    if isinstance(found, Response):
        return found
    session_id, session, admin = found
    code = request.form.get("code", "")[:MAX_CODE_LENGTH]
    if not code.strip():
        return _render_verify(
            _("Enter a code from your authenticator app or a recovery code."), 400
        )
    outcome = services().admins.verify(admin, code)
    if not outcome.ok:
        _audit(
            "admin_second_factor_failed",
            admin.account_id,
            stage="second_factor",
            reason=outcome.failure,
        )
        message, status = _code_failure(outcome)
        return _render_verify(message, status)
    if outcome.method == "recovery_code":
        session.notice = {
            "message": _(
                "You used a recovery code. %(count)s recovery codes are left.",
                count=outcome.recovery_codes_left,
            ),
            "ok": outcome.recovery_codes_left > 2,
        }
    new_id = services().console_sessions.advance(session_id, session, "done")
    _audit(
        "admin_login",
        admin.account_id,
        second_factor=outcome.method,
        recovery_codes_left=outcome.recovery_codes_left,
    )
    response = redirect(_next() or url_for("admin.home"), 303)
    set_cookie(response, new_id, services().config)
    return response


# -- home and logout ---------------------------------------------------------------------------


@bp.get("")
@console_required()
def home() -> Answer:
    admin: Administrator = g.admin
    return render_template(
        "admin/home.html",
        current="home",
        role=str(ROLE_LABELS.get(admin.role, admin.role)),
        recovery_codes_left=len(admin.recovery_code_hashes or []),
        writer=admin.role in admin_rules.WRITE_ROLES,
    )


@bp.post("/logout")
def logout() -> Response:
    """End the console session (the SSO session, if any, is not touched)."""
    session_id = request.cookies.get("idp_admin")
    found = load_session(stage=None)
    if session_id:
        services().console_sessions.destroy(session_id)
    if found is not None:
        _audit("admin_logout", found[2].account_id)
    response = redirect(url_for("admin.login_page", logged_out="1"), 303)
    clear_cookie(response, services().config)
    return response
