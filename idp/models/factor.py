"""People's second factors: TOTP authenticator apps, WebAuthn passkeys and recovery codes
(issue 12, item 5; ``idp.identity.factors``).

A TOTP factor's base32 secret is held only sealed (AES-GCM, bound to the row:
:meth:`SecondFactor.totp_context`); a passkey's public key, sign count and transports are not
secret. Recovery codes are held as SHA-256 (NIST SP 800-63B section 5.1.2.2), each used once.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from idp.models.base import Base, UTCDateTime, new_id, utcnow

FACTOR_KINDS = ("totp", "passkey")


class SecondFactor(Base):
    __tablename__ = "second_factors"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    account_id: Mapped[str] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    # "totp" or "passkey" (FACTOR_KINDS).
    kind: Mapped[str] = mapped_column(String(16))
    # The person's own label ("My phone"), shown in the list.
    name: Mapped[str] = mapped_column(String(64))
    # TOTP: the base32 secret, sealed with ``totp_context``.
    totp_secret_sealed: Mapped[str | None] = mapped_column(Text)
    # WebAuthn (Level 3 section 4, "credential record"): the id (base64url), the COSE public
    # key, the signature counter, the transports the authenticator reported.
    credential_id: Mapped[str | None] = mapped_column(String(1400), unique=True)
    public_key: Mapped[bytes | None] = mapped_column(LargeBinary)
    sign_count: Mapped[int] = mapped_column(Integer, default=0)
    transports: Mapped[list[str]] = mapped_column(JSON, default=list)
    # Whether the authenticator verified the person (PIN, biometrics) at registration.
    user_verified: Mapped[bool] = mapped_column(Boolean, default=False)
    # None while a TOTP enrolment waits for its first code: not yet a factor.
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    def totp_context(self) -> str:
        """What the sealed TOTP secret is bound to (AES-GCM associated data)."""
        return f"second_factors.totp:{self.account_id}:{self.id}"


class RecoveryCode(Base):
    __tablename__ = "recovery_codes"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    account_id: Mapped[str] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
