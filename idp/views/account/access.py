"""Getting into and out of the user space: login and logout, registration outside a portal
login, and password recovery by SMS code to the account's phone."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from idp.identity.password_policy import check_password
from idp.views import cookies, realname
from idp.views.account import bp, current_account, safe_next
from idp.views.password_login import (
    MAX_PASSWORD_LENGTH,
    MAX_USERNAME_LENGTH,
    log_in,
    start_session_for,
)
from idp.views.web import services

MAX_IDENTIFIER_LENGTH = 64


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
            request.form.get("username", "")[:MAX_USERNAME_LENGTH], outcome.message, outcome.status
        )
    app_services = services()
    session_id = outcome.session_id
    response = redirect(safe_next(request.args.get("next")), 303)
    cookies.set_session(response, session_id, app_services.config)
    return response


@bp.post("/logout")
def logout() -> Response:
    """End the SSO session: destroyed server-side, cookie cleared, and every portal of the
    session told through the back channel (as at the end-session endpoint)."""
    app_services = services()
    session_id = request.cookies.get(cookies.SESSION)
    app_services.sso.end(session_id, reason="account_logout", ip_address=request.remote_addr)
    response = redirect(url_for("account.logged_out"), 303)
    cookies.clear_session(response, app_services.config)
    return response


@bp.get("/logged-out")
def logged_out() -> str:
    message = None
    if request.args.get("declined") == "1":
        message = _(
            "You declined the agreement, so you have been logged out. You can log in again and "
            "accept it whenever you wish to use the service."
        )
    return render_template("logged_out.html", message=message)


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
    """Password recovery (``idp.identity.recovery``): an SMS code to the phone of the account
    (found by phone number or ID number), then a new password. Unknown identifiers get the same
    answers; every session and token of the account ends."""
    address = request.remote_addr or ""
    identifier = request.form.get("identifier", "")[:MAX_IDENTIFIER_LENGTH].strip()
    state = realname.FormState(values={"identifier": identifier})
    recovery = services().recovery
    if request.form.get("action") == "send_code":
        if not identifier:
            state.errors["identifier"] = _("Enter your phone number or ID number.")
            state.status = 400
            return _render_recover(state)
        result = recovery.send_code(identifier, address)
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
    # Every answer before the code is proven is the same for known and unknown identifiers.
    password = request.form.get("password", "")[:MAX_PASSWORD_LENGTH]
    code = (request.form.get("sms_code") or "").strip()
    general = check_password(password)
    if not code:
        state.fail("sms_code", "required")
    if general:
        state.fail("password", general)
    elif password != request.form.get("password_confirm", "")[:MAX_PASSWORD_LENGTH]:
        state.fail("password_confirm", "mismatch")
    if state.errors:
        return _render_recover(state)
    outcome = recovery.reset(identifier, code, password, address)
    if outcome.failure == "throttled":
        state.problem = _(
            "Too many failed attempts. Try again in %(seconds)s seconds.",
            seconds=outcome.wait_seconds,
        )
        state.status = 429
        return _render_recover(state)
    if outcome.failure == "code":
        state.fail("sms_code", outcome.code_problem or "wrong", 400)
        return _render_recover(state)
    if outcome.failure == "password":
        state.fail("password", outcome.password_problem or "common")
        state.problem = _("Choose another password and request a new code.")
        return _render_recover(state)
    return redirect(url_for("account.login_page"), 303)
