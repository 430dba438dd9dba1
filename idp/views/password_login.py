"""The password step shared by the portal login (interaction) and the user space login.

One place for the rules: the same generic messages whatever failed (OWASP Authentication Cheat
Sheet), every outcome audited without personal data, and a new session id at every login
(OWASP Session Management Cheat Sheet: no session fixation).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from flask import request
from flask_babel import gettext as _

from idp.identity.documents import mask_phone, normalize_phone
from idp.identity.login import LoginResult, authenticate, throttle_key
from idp.identity.sms import SendResult, SmsUnavailable
from idp.models import Account
from idp.views import cookies
from idp.views.web import provider

log = logging.getLogger(__name__)


@dataclass
class PasswordLogin:
    account: Account | None = None
    session_id: str | None = None
    message: str | None = None  # shown on the form when the login failed
    status: int = 200


def failure_message(result: LoginResult) -> tuple[str, int]:
    """The one answer (message, status) of every password check that failed: wrong password
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
    return _("Invalid username or password."), 401


def check_password_form(client_id: str | None = None, via: str | None = None) -> PasswordLogin:
    """Check the submitted ``username`` (phone number, ID number or username) and
    ``password``; a failure is audited (``via`` says where) and answered generically."""
    username = request.form.get("username", "")[:128]
    password = request.form.get("password", "")[:1024]
    if not username.strip() or not password:
        return PasswordLogin(message=_("Please fill in both fields."), status=400)
    prov = provider()
    result = authenticate(
        prov.db,
        prov.passwords,
        prov.throttle,
        prov.people.find_by_identifier,
        username,
        password,
        request.remote_addr or "",
    )
    if result.account is None:
        prov.audit(
            "login_failed",
            client_id=client_id,
            ip_address=request.remote_addr,
            details={"reason": result.failure, **({"via": via} if via else {})},
        )
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
    prov = provider()
    return authenticate(
        prov.db,
        prov.passwords,
        prov.throttle,
        lambda _identifier: account,
        account.id,
        request.form.get("password", "")[:1024],
        request.remote_addr or "",
    )


def start_session_for(
    account: Account, amr: list[str], *, client_id: str | None, via: str | None
) -> str:
    """A new SSO session for ``account`` (after a password, an SMS code or a registration)."""
    prov = provider()
    old_session = request.cookies.get(cookies.SESSION)
    if old_session:
        # The browser's previous session ends like any logout: its portals are told and its
        # refresh tokens stop (a new login always starts a new session with a new sid).
        prov.end_session(old_session, reason="new_login", ip_address=request.remote_addr)
    session_id, _session = prov.start_session(account, amr)
    prov.audit(
        "login",
        actor=account.id,
        account_id=account.id,
        client_id=client_id,
        ip_address=request.remote_addr,
        details={"via": via} if via else {},
    )
    return session_id


@dataclass
class CodeLogin:
    session_id: str | None = None
    message: str | None = None  # an error for the form
    notice: str | None = None  # "a code was sent"
    status: int = 200


def log_in_with_code(client_id: str | None = None, via: str | None = None) -> CodeLogin:
    """Login by phone number and SMS code (``phone``, ``sms_code``; button ``action`` =
    ``send_code`` | ``login``). Unknown numbers get the same answers and the same limits as
    known ones, and wrong codes count in the same throttle as wrong passwords."""
    prov = provider()
    address = request.remote_addr or ""
    phone = normalize_phone(request.form.get("phone", "")[:32])
    if phone is None:
        return CodeLogin(
            message=_("Enter a mainland China mobile number of 11 digits."), status=400
        )
    account = prov.people.find_by_identifier(phone)
    key = throttle_key(account, phone)
    action = request.form.get("action")
    if action == "send_code":
        usable = account is not None and account.active
        try:
            result = (
                prov.sms.send(phone, "login", address)
                if usable
                else prov.sms.issue_without_sending(phone, "login", address)
            )
        except SmsUnavailable:
            # Told like an unknown number: a failing gateway must not show who has an account.
            log.warning("SMS gateway unavailable for a login code")
            result = SendResult(sent=True, refused=None)
        if not result.sent:
            return CodeLogin(
                message=_(
                    "A code was requested a moment ago. Try again in %(seconds)s seconds.",
                    seconds=result.wait_seconds,
                ),
                status=429,
            )
        return CodeLogin(
            notice=_("If an account uses %(phone)s, a code is on its way.", phone=mask_phone(phone))
        )
    verdict = prov.throttle.check(key, address)
    if verdict.locked or not verdict.allowed:
        message = (
            _("This account is locked after too many failed attempts. Contact the service desk.")
            if verdict.locked
            else _(
                "Too many failed attempts. Try again in %(seconds)s seconds.",
                seconds=verdict.wait_seconds,
            )
        )
        return CodeLogin(message=message, status=403 if verdict.locked else 429)
    code = (request.form.get("sms_code") or "").strip()
    outcome = prov.sms.check(phone, "login", code) if code else "wrong"
    if outcome != "ok" or account is None:
        prov.throttle.record_failure(key, address)
        prov.audit(
            "login_failed",
            client_id=client_id,
            ip_address=address,
            details={"reason": "sms_code", **({"via": via} if via else {})},
        )
        return CodeLogin(message=_("The phone number or the code is not correct."), status=401)
    prov.throttle.record_success(key)
    if not account.active:
        return CodeLogin(
            message=_("This account is suspended. Contact the service desk."), status=403
        )
    return CodeLogin(session_id=start_session_for(account, ["sms"], client_id=client_id, via=via))
