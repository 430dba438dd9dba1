"""Password recovery by SMS code to the account's phone (natural-person agreement clause 4(3):
the person keeps access to their own account).

The account is found by phone number or ID number (blind indexes, exact matches). Every answer
before the code is proven is the same for known and unknown identifiers (OWASP Forgot Password
Cheat Sheet): a code is "sent" either way, with the same limits, and a failing gateway is
answered like an unknown identifier. Wrong codes count in the login throttle of the account.
Only after the code is proven does anything depend on the account: the new password must not
contain the person's phone or ID number. A reset ends every session and token of the account
(``AccountLifecycle.reset_password``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from idp.identity.accounts import AccountLifecycle
from idp.identity.documents import normalize_phone
from idp.identity.login import throttle_key
from idp.identity.password_policy import check_password
from idp.identity.people import People
from idp.identity.sms import SendResult, SmsCodes, SmsUnavailable
from idp.models import Account
from idp.store.ratelimit import LoginThrottle

log = logging.getLogger(__name__)

PURPOSE = "recover"


@dataclass
class RecoveryResult:
    """``done``, or why not: ``throttled`` (``wait_seconds``), ``code`` (``code_problem``:
    ``wrong``, ``expired``, ``too_many``), or ``password`` (``password_problem``: a rule of
    ``idp.identity.password_policy`` the new password breaks for this person)."""

    done: bool = False
    failure: str | None = None
    wait_seconds: int = 0
    code_problem: str | None = None
    password_problem: str | None = None


class PasswordRecovery:
    def __init__(
        self,
        people: People,
        sms: SmsCodes,
        throttle: LoginThrottle,
        accounts: AccountLifecycle,
    ) -> None:
        self._people = people
        self._sms = sms
        self._throttle = throttle
        self._accounts = accounts

    def _target(self, identifier: str) -> tuple[Account | None, str | None, str]:
        """The account, its phone, and where the code is counted: the phone, else what was
        typed (an unknown identifier)."""
        account = self._people.find_by_identifier(identifier) if identifier else None
        phone = self._people.profile(account).phone if account is not None else None
        return account, phone, phone or normalize_phone(identifier) or identifier

    def send_code(self, identifier: str, address: str) -> SendResult:
        account, phone, target = self._target(identifier)
        try:
            if phone and account is not None and account.active:
                return self._sms.send(phone, PURPOSE, address)
            return self._sms.issue_without_sending(target, PURPOSE, address)
        except SmsUnavailable:
            # Told like an unknown identifier: a failing gateway must not show who exists.
            log.warning("SMS gateway unavailable for a recovery code")
            return SendResult(sent=True, refused=None)

    def reset(self, identifier: str, code: str, password: str, address: str) -> RecoveryResult:
        """Check the code (counted in the login throttle), then set the new password."""
        account, _phone, target = self._target(identifier)
        key = throttle_key(account, identifier)
        verdict = self._throttle.check(key, address)
        if not verdict.allowed:
            return RecoveryResult(failure="throttled", wait_seconds=max(verdict.wait_seconds, 1))
        outcome = self._sms.check(target, PURPOSE, code) if identifier else "wrong"
        if outcome != "ok" or account is None:
            self._throttle.record_failure(key, address)
            code_problem = outcome if outcome != "ok" else "wrong"
            return RecoveryResult(failure="code", code_problem=code_problem)
        profile = self._people.profile(account)
        rule = check_password(password, phone=profile.phone, id_number=profile.id_number)
        if rule:
            return RecoveryResult(failure="password", password_problem=rule)
        self._accounts.reset_password(account, password, ip_address=address)
        return RecoveryResult(done=True)
