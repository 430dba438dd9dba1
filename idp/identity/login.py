"""Password login with throttling: one answer for wrong passwords and unknown accounts.

NIST SP 800-63B 5.2.2 (limit consecutive failures), OWASP Authentication Cheat Sheet (generic
error messages, equal timing).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from idp.identity.passwords import Passwords
from idp.models import Account
from idp.models.base import Database
from idp.store.ratelimit import LoginThrottle


@dataclass
class LoginResult:
    account: Account | None = None
    # "invalid", "throttled", "locked" or "suspended"
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
