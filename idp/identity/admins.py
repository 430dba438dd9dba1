"""Administrators: roles, the console's second factor and admin API tokens (issue 7).

- **Roles** (``ROLES``): an ``operator`` may change things; an ``auditor`` reads everything and
  changes nothing. Roles are granted and revoked with ``idp admins`` only.
- **TOTP** (RFC 6238 with HMAC-SHA-1, 6 digits, a 30-second step; RFC 4226 section 5.3 for the
  truncation): the secret is 160 bits (RFC 4226 section 4, R6), shown once in base32 and as an
  ``otpauth://`` URI, and kept sealed (AES-GCM, bound to the row). A code is accepted for the
  steps before, at and after the current one (RFC 6238 section 5.2: at most one step of
  network delay or clock drift), and a step is accepted at most once per account, never one
  older than the last accepted (the replay guard, ``idp.store.totp.TotpSteps``). These rules
  are shared with people's second factors: ``idp.identity.totp``.
- **Recovery codes** (NIST SP 800-63B section 5.1.2, look-up secrets): ten codes of 120 bits
  each, shown once, stored as SHA-256 (at least 112 bits of entropy, so an unsalted approved
  hash suffices, 5.1.2.2), each usable once.
- **Throttle** (NIST SP 800-63B section 5.2.2): wrong second-factor codes, replays included,
  count per account; at ``SECOND_FACTOR_FAILURES_PER_HOUR`` the console refuses every code until
  the hour that began with the first failure ends.
- **API tokens**: 256-bit bearer secrets, shown once, stored as SHA-256, with an expiry.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from functools import cached_property

import redis
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from idp.errors import IdpError
from idp.identity.personal_data import PersonalData
from idp.identity.totp import (
    TOTP_DIGITS,
    TOTP_STEP_MEMORY,
    match_totp,
    new_recovery_codes,
    new_totp_secret,
    normalize_recovery_code,
    recovery_code_hash,
)

# The console's pages show the secret with these (idp.views.admin.console).
from idp.identity.totp import grouped as grouped
from idp.identity.totp import otpauth_uri as otpauth_uri
from idp.models import Account, AdminApiToken, Administrator
from idp.models.base import Database, utcnow
from idp.store.ratelimit import HourlyLimit
from idp.store.totp import TotpSteps

ROLES = ("operator", "auditor")
WRITE_ROLES = frozenset({"operator"})

SECOND_FACTOR_FAILURES_PER_HOUR = 5

API_TOKEN_PREFIX = "idpadm_"
API_TOKEN_DEFAULT_DAYS = 90
API_TOKEN_MAX_DAYS = 365
MAX_API_TOKEN_LENGTH = 128
MAX_NAME_LENGTH = 128
# last_used_at is written at most this often (not one write per API request).
LAST_USED_RESOLUTION = timedelta(minutes=1)


class AdminError(IdpError, ValueError):
    """A request about administrators that must be refused; the message says why (it is
    shown: ``idp admins`` prints it)."""

    code = "admin_refused"

    def __init__(self, message: str) -> None:
        super().__init__(public_message=message)


# -- API tokens ------------------------------------------------------------------------------


def api_token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def authenticate_api_token(db: Database, token: str) -> Administrator | None:
    """The administrator an admin API bearer token belongs to, or None when the token is
    unknown, revoked or expired, the role was revoked, or the account is not active."""
    if not token or len(token) > MAX_API_TOKEN_LENGTH or not token.startswith(API_TOKEN_PREFIX):
        return None
    session = db.session
    row = session.scalar(
        select(AdminApiToken).where(AdminApiToken.token_hash == api_token_hash(token))
    )
    now = utcnow()
    if row is None or row.revoked_at is not None or row.expires_at <= now:
        return None
    admin = session.get(Administrator, row.account_id)
    if admin is None or not admin.account.active:
        return None
    if row.last_used_at is None or now - row.last_used_at >= LAST_USED_RESOLUTION:
        with db.transaction():
            row.last_used_at = now
    return admin


# -- the service -----------------------------------------------------------------------------


@dataclass
class SecondFactor:
    """The outcome of a second-factor code."""

    method: str | None = None  # "totp" or "recovery_code" on success
    failure: str | None = None  # "wrong" or "throttled"
    wait_seconds: int = 0
    recovery_codes_left: int = 0
    # Set when an enrolment was just confirmed: the new recovery codes, to show once.
    recovery_codes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.method is not None


class Administrators:
    """Administrator records, their second factor and their API tokens."""

    def __init__(
        self,
        db: Database,
        personal_data: PersonalData,
        redis_client: Callable[[], redis.Redis] | None = None,
    ) -> None:
        """``redis_client`` gives the Redis of the second factors, on first use only: the
        ``idp admins`` command, which grants, revokes and issues tokens, never reaches it (and
        so never starts an embedded Redis)."""
        self.db = db
        self.personal_data = personal_data
        self._redis_client = redis_client

    def _redis(self) -> redis.Redis:
        assert self._redis_client is not None, "second factors need Redis"
        return self._redis_client()

    @cached_property
    def steps(self) -> TotpSteps:
        return TotpSteps(self._redis())

    @cached_property
    def failures(self) -> HourlyLimit:
        return HourlyLimit(self._redis(), "admin-second-factor", SECOND_FACTOR_FAILURES_PER_HOUR)

    # -- records -----------------------------------------------------------------------------
    def find(self, account_id: str) -> Administrator | None:
        return self.db.session.get(Administrator, account_id)

    def all(self) -> list[Administrator]:
        return list(
            self.db.session.scalars(select(Administrator).order_by(Administrator.created_at))
        )

    def grant(
        self, account: Account, role: str, granted_by: str
    ) -> tuple[Administrator, str | None]:
        """Make ``account`` an administrator with ``role``, or change its role; returns the
        record and the role before (None for a new administrator). A new administrator enrols
        a second factor at the first console login."""
        if role not in ROLES:
            raise AdminError(f"the role must be one of {', '.join(ROLES)}")
        if not account.active:
            raise AdminError("the account is suspended")
        with self.db.transaction() as session:
            admin = session.get(Administrator, account.id)
            previous = admin.role if admin is not None else None
            if admin is None:
                admin = Administrator(
                    account_id=account.id, role=role, granted_by=granted_by, recovery_code_hashes=[]
                )
                session.add(admin)
            else:
                admin.role = role
        return admin, previous

    def revoke(self, account_id: str) -> bool:
        """Take the role away: the record (with the second factor) goes, API tokens are revoked,
        and open console sessions stop at their next request."""
        with self.db.transaction() as session:
            admin = session.get(Administrator, account_id)
            if admin is None:
                return False
            session.delete(admin)
            self._revoke_tokens(session, account_id)
        return True

    # -- API tokens --------------------------------------------------------------------------
    def authenticate_api_token(self, token: str) -> Administrator | None:
        """The administrator an admin API bearer token (RFC 6750 2.1) belongs to, or None
        (see :func:`authenticate_api_token`)."""
        return authenticate_api_token(self.db, token)

    def issue_api_token(
        self, admin: Administrator, name: str, days: int = API_TOKEN_DEFAULT_DAYS
    ) -> tuple[AdminApiToken, str]:
        """A new bearer token for the admin API; the token itself is returned once."""
        name = name.strip()
        if not name or len(name) > MAX_NAME_LENGTH or not name.isprintable():
            raise AdminError(f"the name must be 1 to {MAX_NAME_LENGTH} printable characters")
        if not 1 <= days <= API_TOKEN_MAX_DAYS:
            raise AdminError(f"the lifetime must be 1 to {API_TOKEN_MAX_DAYS} days")
        token = API_TOKEN_PREFIX + secrets.token_urlsafe(32)
        now = utcnow()
        row = AdminApiToken(
            token_hash=api_token_hash(token),
            account_id=admin.account_id,
            name=name,
            created_at=now,
            expires_at=now + timedelta(days=days),
        )
        with self.db.transaction() as session:
            session.add(row)
        return row, token

    def revoke_api_token(self, token_id: str) -> AdminApiToken | None:
        with self.db.transaction() as session:
            row = session.get(AdminApiToken, token_id)
            if row is not None and row.revoked_at is None:
                row.revoked_at = utcnow()
        return row

    def api_tokens(self, account_id: str) -> list[AdminApiToken]:
        return list(
            self.db.session.scalars(
                select(AdminApiToken)
                .where(AdminApiToken.account_id == account_id)
                .order_by(AdminApiToken.created_at)
            )
        )

    @staticmethod
    def _revoke_tokens(session: Session, account_id: str) -> None:
        session.execute(
            update(AdminApiToken)
            .where(AdminApiToken.account_id == account_id, AdminApiToken.revoked_at.is_(None))
            .values(revoked_at=utcnow())
        )

    # -- enrolment ---------------------------------------------------------------------------
    def begin_enrolment(self, admin: Administrator) -> str:
        """A fresh TOTP secret for an administrator not yet enrolled (each first-login attempt
        gets its own; an unconfirmed one is simply replaced)."""
        if admin.enrolled:
            raise AdminError("the administrator has enrolled already")
        secret = new_totp_secret()
        with self.db.transaction() as session:
            row = session.get(Administrator, admin.account_id)
            assert row is not None
            row.totp_secret_sealed = self.personal_data.seal(secret, row.totp_context)
        return secret

    def pending_secret(self, admin: Administrator) -> str | None:
        """The secret to show on the enrolment page, while enrolment is not confirmed."""
        if admin.enrolled or admin.totp_secret_sealed is None:
            return None
        return self.personal_data.open(admin.totp_secret_sealed, admin.totp_context)

    def confirm_enrolment(self, admin: Administrator, code: str) -> SecondFactor:
        """The first code from the authenticator app proves it holds the secret; then the TOTP
        factor is on and ten recovery codes are created (returned once)."""
        secret = self.pending_secret(admin)
        if secret is None:
            return SecondFactor(failure="wrong")
        refusal = self._throttled(admin)
        if refusal is not None:
            return refusal
        if not self._take_totp(admin, secret, code):
            return self._failed(admin)
        codes = new_recovery_codes()
        with self.db.transaction() as session:
            row = session.get(Administrator, admin.account_id)
            assert row is not None
            row.totp_enabled_at = utcnow()
            row.recovery_code_hashes = [recovery_code_hash(c) for c in codes]
        return SecondFactor(method="totp", recovery_codes=codes, recovery_codes_left=len(codes))

    # -- later logins ------------------------------------------------------------------------
    def verify(self, admin: Administrator, code: str) -> SecondFactor:
        """A TOTP code (six digits) or one of the recovery codes (anything else)."""
        if not admin.enrolled or admin.totp_secret_sealed is None:
            return SecondFactor(failure="wrong")
        refusal = self._throttled(admin)
        if refusal is not None:
            return refusal
        code = code.strip()[:64]
        compact = code.replace(" ", "")
        if len(compact) == TOTP_DIGITS and compact.isascii() and compact.isdigit():
            secret = self.personal_data.open(admin.totp_secret_sealed, admin.totp_context)
            if self._take_totp(admin, secret, code):
                return SecondFactor(
                    method="totp", recovery_codes_left=len(admin.recovery_code_hashes)
                )
            return self._failed(admin)
        left = self._take_recovery_code(admin, code)
        if left is None:
            return self._failed(admin)
        return SecondFactor(method="recovery_code", recovery_codes_left=left)

    def _take_totp(self, admin: Administrator, secret: str, code: str) -> bool:
        step = match_totp(secret, code)
        if step is None:
            return False
        # Remember the step while any code of it could still be accepted.
        return self.steps.claim(admin.account_id, step, TOTP_STEP_MEMORY)

    def _take_recovery_code(self, admin: Administrator, code: str) -> int | None:
        """Remove the code's hash if present (row locked on PostgreSQL; SQLite serialises
        writers), so that a code is used once. Returns how many are left, or None."""
        if not normalize_recovery_code(code):
            return None
        digest = recovery_code_hash(code)
        with self.db.transaction() as session:
            row = session.scalar(
                select(Administrator)
                .where(Administrator.account_id == admin.account_id)
                .with_for_update()
                .execution_options(populate_existing=True)
            )
            if row is None:
                return None
            hashes = list(row.recovery_code_hashes or [])
            found = [h for h in hashes if hmac.compare_digest(h, digest)]
            if not found:
                return None
            hashes.remove(found[0])
            row.recovery_code_hashes = hashes
        return len(hashes)

    def _throttled(self, admin: Administrator) -> SecondFactor | None:
        wait = self.failures.exceeded(admin.account_id)
        return SecondFactor(failure="throttled", wait_seconds=wait) if wait else None

    def _failed(self, admin: Administrator) -> SecondFactor:
        self.failures.count(admin.account_id)
        wait = self.failures.exceeded(admin.account_id)
        if wait:
            return SecondFactor(failure="throttled", wait_seconds=wait)
        return SecondFactor(failure="wrong")
