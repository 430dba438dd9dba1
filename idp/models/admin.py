"""Administrators of the provider and their API tokens (issue 7, "Administration").

An administrator is an account with a role: ``operator`` (may change things) or ``auditor``
(reads everything, changes nothing). The console needs a second factor: a TOTP secret
(RFC 6238), held only sealed (AES-GCM, bound to the row), and ten one-time recovery codes, held
only as SHA-256 hashes. API tokens for the admin API are bearer secrets, stored as SHA-256.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from idp.models.account import Account
from idp.models.base import Base, UTCDateTime, new_id, utcnow


class Administrator(Base):
    __tablename__ = "administrators"

    account_id: Mapped[str] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True
    )
    # "operator" or "auditor" (idp.identity.admins.ROLES).
    role: Mapped[str] = mapped_column(String(16))
    # The base32 TOTP secret, sealed with context f"administrators.totp:{account_id}". Set at the
    # first console login; usable once ``totp_enabled_at`` is set (enrolment confirmed).
    totp_secret_sealed: Mapped[str | None] = mapped_column(Text)
    totp_enabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # SHA-256 (hex) of each recovery code not yet used.
    recovery_code_hashes: Mapped[list[str]] = mapped_column(JSON, default=list)
    # Who granted the role: "cli" or an administrator's account id.
    granted_by: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    account: Mapped[Account] = relationship(lazy="joined", innerjoin=True)

    @property
    def enrolled(self) -> bool:
        return self.totp_enabled_at is not None

    @property
    def totp_context(self) -> str:
        """What the sealed TOTP secret is bound to (AES-GCM associated data)."""
        return f"administrators.totp:{self.account_id}"


class AdminApiToken(Base):
    __tablename__ = "admin_api_tokens"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    account_id: Mapped[str] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
