"""People's second factors (issue 12, item 5): TOTP, WebAuthn passkeys and recovery codes.

- **TOTP** (RFC 6238, the rules of ``idp.identity.totp`` shared with the console): an
  enrolment is a row without ``confirmed_at`` holding a fresh sealed secret; the first code from
  the app confirms it. A time step is accepted once per factor (``idp.store.totp.TotpSteps``).
- **Passkeys** (W3C Web Authentication Level 3, with Duo's ``webauthn`` library): the
  registration and authentication ceremonies. Each challenge is random, kept in Redis under
  the browser's binding (the SSO session, or the interaction and its browser) and taken once;
  the RP ID is the issuer's host and the origin the issuer's origin (sections 7.1 and 7.2,
  steps "verify that the value of C.origin matches" and "rpIdHash"). The credential record
  keeps the public key, the signature counter (a counter that goes backwards is refused,
  section 6.1.1), the transports, the name, and when it was created and last used.
- **Recovery codes** (NIST SP 800-63B 5.1.2): ten, shown once, held as SHA-256, each used
  once; created with the first factor, regenerated on request, erased with the last factor.
- **Throttle** (SP 800-63B 5.2.2): wrong codes and refused assertions count per account; at
  ``FAILURES_PER_HOUR`` every attempt is refused until the hour that began with the first ends.

What a check proves is given as RFC 8176 ``amr`` values: ``otp`` (TOTP or a recovery code,
both one-time codes), ``hwk`` (a passkey: proof of possession of a hardware-bound key) and
``user`` when the authenticator verified the person; ``mfa`` is added by the caller when the
login's first factor is another one. Enrolling, renaming and removing are audited and, when a
notifier is given, announced to the person as security messages.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cached_property
from typing import Any
from urllib.parse import urlsplit

import redis
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session
from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import base64url_to_bytes, bytes_to_base64url
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    AuthenticatorTransport,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from idp.errors import IdpError
from idp.identity import totp as totp_rules
from idp.identity.audit import Audit
from idp.identity.audit import event as audit_event
from idp.identity.personal_data import PersonalData
from idp.models import Account, RecoveryCode, SecondFactor
from idp.models.base import Database, utcnow
from idp.store.kv import ShortLivedStore
from idp.store.ratelimit import HourlyLimit
from idp.store.totp import TotpSteps

# amr values (RFC 8176) that show a second factor was proved in a session.
SECOND_FACTOR_AMR = frozenset({"otp", "hwk", "mfa"})
FAILURES_PER_HOUR = 10
CHALLENGE_TTL = 300  # seconds a ceremony may take (WebAuthn "timeout" is 5 minutes below)
PENDING_TOTP_TTL = timedelta(minutes=30)
MAX_NAME_LENGTH = 64
MAX_CREDENTIAL_LENGTH = 64 * 1024
MAX_FACTORS = 20
TRANSPORTS = frozenset(t.value for t in AuthenticatorTransport)
Notify = Callable[[str, str], Any]


class FactorError(IdpError, ValueError):
    """A request about second factors that must be refused."""

    code = "factor_refused"


@dataclass(frozen=True)
class FactorView:
    """A confirmed factor as the person sees it (no secret)."""

    id: str
    kind: str  # "totp" or "passkey"
    name: str
    created_at: datetime
    last_used_at: datetime | None
    transports: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "name": self.name,
            "created_at": self.created_at.isoformat(timespec="seconds"),
            "last_used_at": self.last_used_at.isoformat(timespec="seconds")
            if self.last_used_at
            else None,
            "transports": list(self.transports),
        }


@dataclass
class Check:
    """The outcome of a second-factor attempt or an enrolment."""

    method: str | None = None  # "totp", "recovery_code" or "passkey" on success
    amr: list[str] = field(default_factory=list)
    failure: str | None = None  # "wrong", "throttled", "invalid" (a malformed form)
    wait_seconds: int = 0
    factor_id: str | None = None
    # Set when the first factor was just enrolled or the codes regenerated: shown once.
    recovery_codes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.method is not None


@dataclass(frozen=True)
class TotpEnrolment:
    factor_id: str
    secret: str
    uri: str

    @property
    def grouped(self) -> str:
        return totp_rules.grouped(self.secret)


def clean_name(text: str | None, default: str) -> str:
    """A factor's label: printable, at most ``MAX_NAME_LENGTH`` characters."""
    name = " ".join((text or "").split())[:MAX_NAME_LENGTH]
    return name if name and name.isprintable() else default


class SecondFactors:
    def __init__(
        self,
        db: Database,
        personal_data: PersonalData,
        redis_client: Callable[[], redis.Redis],
        audit: Audit,
        *,
        issuer: str,
        rp_name: str,
        notify: Notify | None = None,
    ) -> None:
        self.db = db
        self.personal_data = personal_data
        self._redis_client = redis_client
        self._audit = audit
        self.issuer = issuer
        parts = urlsplit(issuer)
        self.rp_id = parts.hostname or "localhost"
        self.origin = f"{parts.scheme}://{parts.netloc}"
        self.rp_name = rp_name
        self._notify = notify

    @cached_property
    def _challenges(self) -> ShortLivedStore:
        return ShortLivedStore(self._redis_client(), "webauthn-challenge", hash_ids=True)

    @cached_property
    def _steps(self) -> TotpSteps:
        return TotpSteps(self._redis_client(), "totp-step")

    @cached_property
    def _failures(self) -> HourlyLimit:
        return HourlyLimit(self._redis_client(), "second-factor", FAILURES_PER_HOUR)

    # -- reading -----------------------------------------------------------------------------
    def _rows(self, account_id: str, kind: str | None = None) -> list[SecondFactor]:
        query = select(SecondFactor).where(
            SecondFactor.account_id == account_id, SecondFactor.confirmed_at.is_not(None)
        )
        if kind is not None:
            query = query.where(SecondFactor.kind == kind)
        return list(self.db.session.scalars(query.order_by(SecondFactor.created_at)))

    def factors(self, account_id: str) -> list[FactorView]:
        return [
            FactorView(
                row.id,
                row.kind,
                row.name,
                row.created_at,
                row.last_used_at,
                tuple(row.transports or ()),
            )
            for row in self._rows(account_id)
        ]

    @staticmethod
    def enrolled(account: Account) -> bool:
        """Whether the person has a confirmed factor, from the account row (no query)."""
        return bool(account.has_second_factor)

    def has_any(self, account_id: str) -> bool:
        return bool(
            self.db.session.scalar(
                select(func.count())
                .select_from(SecondFactor)
                .where(
                    SecondFactor.account_id == account_id,
                    SecondFactor.confirmed_at.is_not(None),
                )
            )
        )

    def kinds(self, account_id: str) -> set[str]:
        return {view.kind for view in self.factors(account_id)}

    def recovery_codes_left(self, account_id: str) -> int:
        return int(
            self.db.session.scalar(
                select(func.count())
                .select_from(RecoveryCode)
                .where(RecoveryCode.account_id == account_id, RecoveryCode.used_at.is_(None))
            )
            or 0
        )

    @staticmethod
    def satisfied(amr: list[str] | tuple[str, ...]) -> bool:
        """Whether a session's ``amr`` shows a second factor."""
        return bool(SECOND_FACTOR_AMR & set(amr))

    # -- TOTP enrolment ----------------------------------------------------------------------
    def begin_totp(self, account: Account, label: str) -> TotpEnrolment:
        """The pending TOTP enrolment (the one begun in the last half hour, else a new one):
        the secret to show as a QR code and as text."""
        session = self.db.session
        pending = session.scalar(
            select(SecondFactor).where(
                SecondFactor.account_id == account.id,
                SecondFactor.kind == "totp",
                SecondFactor.confirmed_at.is_(None),
            )
        )
        if pending is not None and pending.totp_secret_sealed is not None:
            if utcnow() - pending.created_at < PENDING_TOTP_TTL:
                secret = self.personal_data.open(pending.totp_secret_sealed, pending.totp_context())
                return self._enrolment(pending.id, secret, label)
        self._check_room(account.id)
        secret = totp_rules.new_totp_secret()
        with self.db.transaction() as tx:
            tx.execute(
                delete(SecondFactor).where(
                    SecondFactor.account_id == account.id,
                    SecondFactor.kind == "totp",
                    SecondFactor.confirmed_at.is_(None),
                )
            )
            row = SecondFactor(
                id=secrets.token_hex(16), account_id=account.id, kind="totp", name=""
            )
            row.totp_secret_sealed = self.personal_data.seal(secret, row.totp_context())
            tx.add(row)
        return self._enrolment(row.id, secret, label)

    def _enrolment(self, factor_id: str, secret: str, label: str) -> TotpEnrolment:
        return TotpEnrolment(factor_id, secret, totp_rules.otpauth_uri(secret, self.rp_name, label))

    def confirm_totp(
        self, account: Account, factor_id: str, code: str, name: str | None, *, ip: str | None
    ) -> Check:
        """The first code from the app proves it holds the secret: the factor is on."""
        row = self.db.session.get(SecondFactor, factor_id) if len(factor_id) <= 36 else None
        if (
            row is None
            or row.account_id != account.id
            or row.kind != "totp"
            or row.confirmed_at is not None
            or row.totp_secret_sealed is None
        ):
            return Check(failure="invalid")
        refusal = self._throttled(account.id)
        if refusal is not None:
            return refusal
        secret = self.personal_data.open(row.totp_secret_sealed, row.totp_context())
        if not self._take_totp(row.id, secret, code):
            return self._failed(account.id)
        label = clean_name(name, "Authenticator app")
        with self.db.transaction() as tx:
            fresh = tx.get(SecondFactor, factor_id)
            if fresh is None or fresh.confirmed_at is not None:
                return Check(failure="invalid")
            fresh.confirmed_at = utcnow()
            fresh.name = label
            self._mark(tx, account.id, True)
            codes = self._first_codes(tx, account.id)
            tx.add(self._event("second_factor_enrolled", account.id, ip, "totp", factor_id))
        self._announce(account.id, "second_factor_enrolled")
        return Check(method="totp", amr=["otp"], factor_id=factor_id, recovery_codes=codes)

    def _take_totp(self, factor_id: str, secret: str, code: str) -> bool:
        step = totp_rules.match_totp(secret, code)
        if step is None:
            return False
        return self._steps.claim(factor_id, step, totp_rules.TOTP_STEP_MEMORY)

    # -- passkey registration ----------------------------------------------------------------
    def registration_options(self, account: Account, binding: str, user_name: str) -> str:
        """The options of ``navigator.credentials.create`` (JSON), its challenge kept for
        ``binding`` until used once."""
        self._check_room(account.id)
        options = generate_registration_options(
            rp_id=self.rp_id,
            rp_name=self.rp_name,
            user_name=user_name,
            user_id=account.id.encode(),
            user_display_name=user_name,
            timeout=CHALLENGE_TTL * 1000,
            authenticator_selection=AuthenticatorSelectionCriteria(
                resident_key=ResidentKeyRequirement.PREFERRED,
                user_verification=UserVerificationRequirement.PREFERRED,
            ),
            exclude_credentials=self._descriptors(account.id),
        )
        self._challenges.put(
            f"register:{binding}",
            {"challenge": bytes_to_base64url(options.challenge), "account_id": account.id},
            CHALLENGE_TTL,
        )
        return options_to_json(options)

    def register_passkey(
        self, account: Account, binding: str, credential: str, name: str | None, *, ip: str | None
    ) -> Check:
        """Verify the authenticator's attestation (``none`` accepted: no attestation is asked
        for) against the challenge taken once, and store the credential record."""
        stored, _memo = self._challenges.consume(f"register:{binding}")
        if stored is None or stored.get("account_id") != account.id:
            return Check(failure="invalid")
        if not credential or len(credential) > MAX_CREDENTIAL_LENGTH:
            return Check(failure="invalid")
        try:
            verified = verify_registration_response(
                credential=credential,
                expected_challenge=base64url_to_bytes(stored["challenge"]),
                expected_rp_id=self.rp_id,
                expected_origin=self.origin,
            )
            transports = _transports(credential)
        except (WebAuthnException, ValueError, KeyError, TypeError):
            return Check(failure="wrong")
        credential_id = bytes_to_base64url(verified.credential_id)
        if self.db.session.scalar(
            select(SecondFactor.id).where(SecondFactor.credential_id == credential_id)
        ):
            return Check(failure="wrong")
        factor_id = secrets.token_hex(16)
        with self.db.transaction() as tx:
            tx.add(
                SecondFactor(
                    id=factor_id,
                    account_id=account.id,
                    kind="passkey",
                    name=clean_name(name, "Passkey"),
                    credential_id=credential_id,
                    public_key=verified.credential_public_key,
                    sign_count=verified.sign_count,
                    transports=transports,
                    user_verified=verified.user_verified,
                    confirmed_at=utcnow(),
                )
            )
            self._mark(tx, account.id, True)
            codes = self._first_codes(tx, account.id)
            tx.add(self._event("second_factor_enrolled", account.id, ip, "passkey", factor_id))
        self._announce(account.id, "second_factor_enrolled")
        return Check(method="passkey", amr=["hwk"], factor_id=factor_id, recovery_codes=codes)

    def _descriptors(self, account_id: str) -> list[PublicKeyCredentialDescriptor]:
        descriptors = []
        for row in self._rows(account_id, "passkey"):
            assert row.credential_id is not None
            descriptors.append(
                PublicKeyCredentialDescriptor(
                    id=base64url_to_bytes(row.credential_id),
                    transports=[
                        AuthenticatorTransport(t) for t in row.transports or [] if t in TRANSPORTS
                    ]
                    or None,
                )
            )
        return descriptors

    # -- using a factor ----------------------------------------------------------------------
    def authentication_options(self, account_id: str, binding: str) -> str | None:
        """The options of ``navigator.credentials.get`` for the account's passkeys (JSON), or
        None when it has none; the challenge is kept for ``binding`` until used once."""
        descriptors = self._descriptors(account_id)
        if not descriptors:
            return None
        options = generate_authentication_options(
            rp_id=self.rp_id,
            timeout=CHALLENGE_TTL * 1000,
            allow_credentials=descriptors,
            user_verification=UserVerificationRequirement.PREFERRED,
        )
        self._challenges.put(
            f"authenticate:{binding}",
            {"challenge": bytes_to_base64url(options.challenge), "account_id": account_id},
            CHALLENGE_TTL,
        )
        return options_to_json(options)

    def verify_code(self, account_id: str, code: str) -> Check:
        """A TOTP code (six digits) from any of the account's apps, or a recovery code."""
        code = (code or "").strip()[:64]
        if not code:
            return Check(failure="wrong")
        refusal = self._throttled(account_id)
        if refusal is not None:
            return refusal
        if totp_rules.looks_like_totp(code):
            for row in self._rows(account_id, "totp"):
                assert row.totp_secret_sealed is not None
                secret = self.personal_data.open(row.totp_secret_sealed, row.totp_context())
                if self._take_totp(row.id, secret, code):
                    self._used(row.id)
                    return Check(method="totp", amr=["otp"], factor_id=row.id)
            return self._failed(account_id)
        if self._take_recovery_code(account_id, code):
            self._audit(
                "recovery_code_used",
                actor=account_id,
                account_id=account_id,
                details={"left": self.recovery_codes_left(account_id)},
            )
            return Check(method="recovery_code", amr=["otp"])
        return self._failed(account_id)

    def verify_passkey(self, account_id: str, binding: str, credential: str) -> Check:
        """Verify an assertion against the challenge taken once (section 7.2): the credential
        must be one of the account's, the signature good, the counter not gone backwards."""
        refusal = self._throttled(account_id)
        if refusal is not None:
            return refusal
        stored, _memo = self._challenges.consume(f"authenticate:{binding}")
        if stored is None or stored.get("account_id") != account_id:
            return Check(failure="invalid")
        if not credential or len(credential) > MAX_CREDENTIAL_LENGTH:
            return Check(failure="invalid")
        try:
            raw_id = json.loads(credential).get("id")
        except (ValueError, AttributeError):
            return self._failed(account_id)
        row = self.db.session.scalar(
            select(SecondFactor).where(
                SecondFactor.credential_id == str(raw_id)[:1400],
                SecondFactor.account_id == account_id,
                SecondFactor.kind == "passkey",
                SecondFactor.confirmed_at.is_not(None),
            )
        )
        if row is None or row.public_key is None:
            return self._failed(account_id)
        try:
            verified = verify_authentication_response(
                credential=credential,
                expected_challenge=base64url_to_bytes(stored["challenge"]),
                expected_rp_id=self.rp_id,
                expected_origin=self.origin,
                credential_public_key=row.public_key,
                credential_current_sign_count=row.sign_count,
            )
        except (WebAuthnException, ValueError, KeyError, TypeError):
            return self._failed(account_id)
        with self.db.transaction() as tx:
            fresh = tx.get(SecondFactor, row.id)
            if fresh is not None:
                fresh.sign_count = verified.new_sign_count
                fresh.last_used_at = utcnow()
        amr = ["hwk", "user"] if verified.user_verified else ["hwk"]
        return Check(method="passkey", amr=amr, factor_id=row.id)

    def _used(self, factor_id: str) -> None:
        with self.db.transaction() as tx:
            tx.execute(
                update(SecondFactor)
                .where(SecondFactor.id == factor_id)
                .values(last_used_at=utcnow())
            )

    # -- recovery codes ----------------------------------------------------------------------
    def _first_codes(self, tx: Session, account_id: str) -> list[str]:
        """New recovery codes with the first factor (none yet unused): else none."""
        unused = tx.scalar(
            select(func.count())
            .select_from(RecoveryCode)
            .where(RecoveryCode.account_id == account_id, RecoveryCode.used_at.is_(None))
        )
        if unused:
            return []
        return self._replace_codes(tx, account_id)

    @staticmethod
    def _replace_codes(tx: Session, account_id: str) -> list[str]:
        tx.execute(delete(RecoveryCode).where(RecoveryCode.account_id == account_id))
        codes = totp_rules.new_recovery_codes()
        for code in codes:
            tx.add(
                RecoveryCode(account_id=account_id, code_hash=totp_rules.recovery_code_hash(code))
            )
        return codes

    def regenerate_recovery_codes(self, account_id: str, *, ip: str | None) -> list[str]:
        """Ten new codes; the old ones stop working. Only with a factor enrolled."""
        if not self.has_any(account_id):
            raise FactorError(public_message="Enrol a second factor first.")
        with self.db.transaction() as tx:
            codes = self._replace_codes(tx, account_id)
            tx.add(self._event("recovery_codes_regenerated", account_id, ip))
        self._announce(account_id, "recovery_codes_regenerated")
        return codes

    def _take_recovery_code(self, account_id: str, code: str) -> bool:
        """Mark the code used in one conditional UPDATE, so that it is used once."""
        if not totp_rules.normalize_recovery_code(code):
            return False
        digest = totp_rules.recovery_code_hash(code)
        with self.db.transaction() as tx:
            result = tx.execute(
                update(RecoveryCode)
                .where(
                    RecoveryCode.account_id == account_id,
                    RecoveryCode.code_hash == digest,
                    RecoveryCode.used_at.is_(None),
                )
                .values(used_at=utcnow())
            )
        return bool(getattr(result, "rowcount", 0))

    # -- managing ----------------------------------------------------------------------------
    def _owned(self, account_id: str, factor_id: str) -> SecondFactor | None:
        if not factor_id or len(factor_id) > 36:
            return None
        row = self.db.session.get(SecondFactor, factor_id)
        if row is None or row.account_id != account_id or row.confirmed_at is None:
            return None
        return row

    def rename(self, account_id: str, factor_id: str, name: str, *, ip: str | None) -> bool:
        row = self._owned(account_id, factor_id)
        if row is None:
            return False
        with self.db.transaction() as tx:
            fresh = tx.get(SecondFactor, row.id)
            if fresh is None:
                return False
            fresh.name = clean_name(name, fresh.name)
            tx.add(self._event("second_factor_renamed", account_id, ip, fresh.kind, row.id))
        return True

    def remove(self, account_id: str, factor_id: str, *, ip: str | None) -> bool:
        """Remove a factor; with the last one the recovery codes go too."""
        row = self._owned(account_id, factor_id)
        if row is None:
            return False
        kind = row.kind
        with self.db.transaction() as tx:
            tx.execute(delete(SecondFactor).where(SecondFactor.id == factor_id))
            left = tx.scalar(
                select(func.count())
                .select_from(SecondFactor)
                .where(
                    SecondFactor.account_id == account_id,
                    SecondFactor.confirmed_at.is_not(None),
                )
            )
            if not left:
                tx.execute(delete(RecoveryCode).where(RecoveryCode.account_id == account_id))
                self._mark(tx, account_id, False)
            tx.add(self._event("second_factor_removed", account_id, ip, kind, factor_id))
        self._steps.forget(factor_id)
        self._announce(account_id, "second_factor_removed")
        return True

    def reset(self, account_id: str, *, actor: str, reason: str) -> int:
        """The service desk's reset for a person who lost every factor and code (after checking
        who they are, e.g. at a counter): every factor and code goes, in one transaction with
        its audit event; returns how many factors there were. The next login asks for none."""
        with self.db.transaction() as tx:
            count = int(
                tx.scalar(
                    select(func.count())
                    .select_from(SecondFactor)
                    .where(
                        SecondFactor.account_id == account_id,
                        SecondFactor.confirmed_at.is_not(None),
                    )
                )
                or 0
            )
            self.erase(tx, account_id)
            tx.add(
                audit_event(
                    "second_factors_reset",
                    actor=actor,
                    account_id=account_id,
                    details={"factors": count, "reason": reason},
                )
            )
        self._announce(account_id, "second_factors_reset")
        return count

    def erase(self, tx: Session, account_id: str) -> None:
        """Everything of the account's second factors, inside the cancellation's transaction
        (the rows also go with the account: ON DELETE CASCADE)."""
        tx.execute(delete(SecondFactor).where(SecondFactor.account_id == account_id))
        tx.execute(delete(RecoveryCode).where(RecoveryCode.account_id == account_id))
        self._mark(tx, account_id, False)

    def export(self, account_id: str) -> dict[str, Any]:
        """The person's own export (PIPL article 45): the factors without any secret, and how
        many recovery codes are left."""
        return {
            "second_factors": [view.as_dict() for view in self.factors(account_id)],
            "recovery_codes_left": self.recovery_codes_left(account_id),
        }

    # -- helpers -----------------------------------------------------------------------------
    @staticmethod
    def _mark(tx: Session, account_id: str, enrolled: bool) -> None:
        """``accounts.has_second_factor``, in the transaction that changes the factors."""
        tx.execute(
            update(Account).where(Account.id == account_id).values(has_second_factor=enrolled)
        )

    def _check_room(self, account_id: str) -> None:
        if len(self._rows(account_id)) >= MAX_FACTORS:
            raise FactorError(public_message="You have enrolled the most second factors allowed.")

    def _throttled(self, account_id: str) -> Check | None:
        wait = self._failures.exceeded(account_id)
        return Check(failure="throttled", wait_seconds=wait) if wait else None

    def _failed(self, account_id: str) -> Check:
        self._failures.count(account_id)
        wait = self._failures.exceeded(account_id)
        if wait:
            return Check(failure="throttled", wait_seconds=wait)
        return Check(failure="wrong")

    @staticmethod
    def _event(
        action: str,
        account_id: str,
        ip: str | None,
        kind: str | None = None,
        factor_id: str | None = None,
    ) -> Any:
        details: dict[str, Any] = {}
        if kind:
            details["kind"] = kind
        if factor_id:
            details["factor_id"] = factor_id
        return audit_event(
            action, actor=account_id, account_id=account_id, ip_address=ip, details=details
        )

    def _announce(self, account_id: str, kind: str) -> None:
        """A security message to the person (``messages.notify``), when there is a notifier."""
        if self._notify is not None:
            self._notify(account_id, kind)


def _transports(credential: str) -> list[str]:
    """The transports the browser reported (``response.transports``), the known ones only."""
    data = json.loads(credential)
    reported = (data.get("response") or {}).get("transports") or []
    if not isinstance(reported, list):
        return []
    return [t for t in reported if isinstance(t, str) and t in TRANSPORTS][:8]
