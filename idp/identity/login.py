"""Signing in: a password, an SMS code, or the password re-entered before a change, behind
the failed-login throttle, with one answer for wrong secrets and unknown accounts.

NIST SP 800-63B 5.2.2 (limit consecutive failures), OWASP Authentication Cheat Sheet (generic
error messages, equal timing).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from idp.identity.audit import Audit
from idp.identity.passwords import Passwords
from idp.identity.sms import SendResult, SmsCodes, SmsUnavailable
from idp.models import Account
from idp.models.base import Database
from idp.observability import metrics
from idp.store.ratelimit import LoginThrottle

log = logging.getLogger(__name__)


@dataclass
class LoginResult:
    account: Account | None = None
    # "invalid", "throttled", "locked" or "suspended"; a code login: "wrong" for the code
    failure: str | None = None
    wait_seconds: int = 0


def normalize_username(username: str) -> str:
    return username.strip()


def throttle_key(account: Account | None, identifier: str) -> str:
    return f"account:{account.id}" if account is not None else f"identifier:{identifier}"


def authenticate(
    db: Database,
    passwords: Passwords,
    throttle: LoginThrottle,
    find_account: Callable[[str], Account | None],
    username: str,
    password: str,
    address: str,
) -> LoginResult:
    """``username`` is whatever identifies the account: a phone number, an identity document
    number or an operator-chosen username (``find_account`` resolves it)."""
    username = normalize_username(username)
    account = find_account(username)
    # Failures count per account, whichever identifier was typed (phone or ID number); for an
    # unknown identifier, per identifier: the answer and the timing are the same either way.
    key = throttle_key(account, username)
    verdict = throttle.check(key, address)
    if verdict.locked:
        return LoginResult(failure="locked")
    if not verdict.allowed:
        return LoginResult(failure="throttled", wait_seconds=verdict.wait_seconds)
    if not passwords.verify(account.password_hash if account else None, password):
        throttle.record_failure(key, address)
        return LoginResult(failure="invalid")
    assert account is not None
    throttle.record_success(key)
    if not account.active:
        return LoginResult(failure="suspended")
    if passwords.needs_rehash(account.password_hash):
        with db.transaction():
            account.password_hash = passwords.hash(password)
    return LoginResult(account=account)


class SignIn:
    """The checks of every login form: password (portal, user space, console), SMS code, and
    the password re-entered before a change. Failures are audited without personal data and
    answered alike for unknown accounts (OWASP Authentication Cheat Sheet)."""

    def __init__(
        self,
        db: Database,
        passwords: Passwords,
        throttle: LoginThrottle,
        find_account: Callable[[str], Account | None],
        sms: SmsCodes,
        audit: Audit,
    ) -> None:
        self._db = db
        self._passwords = passwords
        self._throttle = throttle
        self._find_account = find_account
        self._sms = sms
        self._audit = audit

    def with_password(
        self,
        identifier: str,
        password: str,
        address: str,
        *,
        client_id: str | None = None,
        via: str | None = None,
    ) -> LoginResult:
        """``identifier``: a phone number, an ID number or a username."""
        result = authenticate(
            self._db,
            self._passwords,
            self._throttle,
            self._find_account,
            identifier,
            password,
            address,
        )
        if result.account is None:
            self._failed(result.failure, client_id, address, via)
        metrics.count_login("password", result.failure or "success")
        return result

    def confirm_password(self, account: Account, password: str, address: str) -> LoginResult:
        """The logged-in person's password re-entered before a change (cancellation, a new
        phone, an identity correction): counted in the same throttle as logins."""
        return authenticate(
            self._db,
            self._passwords,
            self._throttle,
            lambda _identifier: account,
            account.id,
            password,
            address,
        )

    def send_login_code(self, phone: str, address: str) -> SendResult:
        """A login code to ``phone`` (normalised). Unknown or suspended numbers are counted
        and answered exactly as known ones, and a failing gateway is answered like an unknown
        number: nothing here tells who has an account."""
        account = self._find_account(phone)
        try:
            if account is not None and account.active:
                return self._sms.send(phone, "login", address)
            return self._sms.issue_without_sending(phone, "login", address)
        except SmsUnavailable:
            log.warning("SMS gateway unavailable for a login code")
            return SendResult(sent=True, refused=None)

    def with_code(
        self,
        phone: str,
        code: str,
        address: str,
        *,
        client_id: str | None = None,
        via: str | None = None,
    ) -> LoginResult:
        """Login by phone number (normalised) and SMS code: wrong codes count in the same
        throttle as wrong passwords, per account whichever identifier was typed."""
        account = self._find_account(phone)
        key = throttle_key(account, phone)
        result = self._check_code(account, key, phone, code, address, client_id, via)
        metrics.count_login("sms", result.failure or "success")
        return result

    def _check_code(
        self,
        account: Account | None,
        key: str,
        phone: str,
        code: str,
        address: str,
        client_id: str | None,
        via: str | None,
    ) -> LoginResult:
        verdict = self._throttle.check(key, address)
        if verdict.locked:
            return LoginResult(failure="locked")
        if not verdict.allowed:
            return LoginResult(failure="throttled", wait_seconds=verdict.wait_seconds)
        outcome = self._sms.check(phone, "login", code) if code else "wrong"
        if outcome != "ok" or account is None:
            self._throttle.record_failure(key, address)
            self._failed("sms_code", client_id, address, via)
            return LoginResult(failure="wrong")
        self._throttle.record_success(key)
        if not account.active:
            return LoginResult(failure="suspended")
        return LoginResult(account=account)

    def _failed(
        self, reason: str | None, client_id: str | None, address: str, via: str | None
    ) -> None:
        details: dict[str, Any] = {"reason": reason, **({"via": via} if via else {})}
        self._audit(
            "login_failed", client_id=client_id, ip_address=address or None, details=details
        )
