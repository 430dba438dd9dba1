"""Password login with throttling: one answer for wrong passwords and unknown accounts.

NIST SP 800-63B 5.2.2 (limit consecutive failures), OWASP Authentication Cheat Sheet (generic
error messages, equal timing).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

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


def authenticate(
    db: Database,
    passwords: Passwords,
    throttle: LoginThrottle,
    username: str,
    password: str,
    address: str,
) -> LoginResult:
    username = normalize_username(username)
    verdict = throttle.check(username, address)
    if verdict.locked:
        return LoginResult(failure="locked")
    if not verdict.allowed:
        return LoginResult(failure="throttled", wait_seconds=verdict.wait_seconds)
    account = db.session.scalar(select(Account).where(Account.username == username))
    if not passwords.verify(account.password_hash if account else None, password):
        throttle.record_failure(username, address)
        return LoginResult(failure="invalid")
    assert account is not None
    throttle.record_success(username)
    if not account.active:
        return LoginResult(failure="suspended")
    if passwords.needs_rehash(account.password_hash):
        with db.transaction():
            account.password_hash = passwords.hash(password)
    return LoginResult(account=account)
