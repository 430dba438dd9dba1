"""The login forms' shared parts: reading the fields and wording the answers.

The rules are ``idp.identity.login.SignIn`` (the same generic answer whatever failed, every
failure audited without personal data; OWASP Authentication Cheat Sheet) and
``idp.oauth.sso.SingleSignOn`` (a new session id at every login: no session fixation).
Used by the portal login (the interaction's login step), the user space and the console.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import request
from flask_babel import gettext as _

from idp.identity.documents import mask_phone, normalize_phone
from idp.identity.login import LoginResult
from idp.identity.sms import SendResult
from idp.models import Account
from idp.views import cookies
from idp.views.web import services

MAX_USERNAME_LENGTH = 128
MAX_PASSWORD_LENGTH = 1024
MAX_PHONE_LENGTH = 32


@dataclass
class PasswordLogin:
    account: Account | None = None
    session_id: str | None = None
    message: str | None = None  # shown on the form when the login failed
    status: int = 200


def failure_message(result: LoginResult) -> tuple[str, int]:
    """The one answer (message, status) of every login check that failed: wrong password
    and unknown account alike."""
    if result.failure == "throttled":
        message = _(
            "Too many failed attempts. Try again in %(seconds)s seconds.",
            seconds=result.wait_seconds,
        )
        return message, 429
    if result.failure == "locked":
        message = _(
            "This account is locked after too many failed attempts. Contact the service desk."
        )
        return message, 403
    if result.failure == "suspended":
        return _("This account is suspended. Contact the service desk."), 403
    if result.failure == "wrong":
        return _("The phone number or the code is not correct."), 401
    return _("Invalid username or password."), 401


def password_fields() -> tuple[str, str] | None:
    """The submitted ``username`` (phone number, ID number or username) and ``password``, or
    None when either is empty."""
    username = request.form.get("username", "")[:MAX_USERNAME_LENGTH]
    password = request.form.get("password", "")[:MAX_PASSWORD_LENGTH]
    if not username.strip() or not password:
        return None
    return username, password


def empty_fields() -> tuple[str, int]:
    return _("Please fill in both fields."), 400


def check_password_form(client_id: str | None = None, via: str | None = None) -> PasswordLogin:
    """Check the submitted ``username`` and ``password``; a failure is audited (``via`` says
    where) and answered generically."""
    fields = password_fields()
    if fields is None:
        message, status = empty_fields()
        return PasswordLogin(message=message, status=status)
    result = services().sign_in.with_password(
        *fields, request.remote_addr or "", client_id=client_id, via=via
    )
    if result.account is None:
        message, status = failure_message(result)
        return PasswordLogin(message=message, status=status)
    return PasswordLogin(account=result.account)


def log_in(client_id: str | None = None, via: str | None = None) -> PasswordLogin:
    """Check the submitted ``username`` and ``password``; on success start a new session."""
    outcome = check_password_form(client_id, via)
    if outcome.account is not None:
        outcome.session_id = start_session_for(
            outcome.account, ["pwd"], client_id=client_id, via=via
        )
    return outcome


def confirm_own_password(account: Account) -> LoginResult:
    """The logged-in person's password re-entered before a change (cancellation, a new phone,
    an identity correction): counted in the same throttle as logins to the account."""
    return services().sign_in.confirm_password(
        account, request.form.get("password", "")[:MAX_PASSWORD_LENGTH], request.remote_addr or ""
    )


def start_session_for(
    account: Account, amr: list[str], *, client_id: str | None, via: str | None
) -> str:
    """A new SSO session for ``account``; the browser's previous one ends like a logout."""
    return services().sso.start(
        account,
        amr,
        replacing=request.cookies.get(cookies.SESSION),
        client_id=client_id,
        via=via,
        ip_address=request.remote_addr,
        user_agent=request.user_agent.string,
    )


def login_phone() -> str | None:
    """The submitted ``phone``, normalised, or None when it is no mainland mobile number."""
    return normalize_phone(request.form.get("phone", "")[:MAX_PHONE_LENGTH])


def invalid_phone() -> tuple[str, int]:
    return _("Enter a mainland China mobile number of 11 digits."), 400


def code_sent(phone: str, result: SendResult) -> tuple[str | None, str | None, int]:
    """(error, notice, status) after a login code was asked for."""
    if not result.sent:
        message = _(
            "A code was requested a moment ago. Try again in %(seconds)s seconds.",
            seconds=result.wait_seconds,
        )
        return message, None, 429
    notice = _("If an account uses %(phone)s, a code is on its way.", phone=mask_phone(phone))
    return None, notice, 200
