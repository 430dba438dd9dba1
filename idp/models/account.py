"""Accounts: the people who log in.

Personal data is held only sealed (``idp.identity.personal_data``): the real name, the identity
document number and the phone number, each bound to this row. Lookups go through the blind
indexes ``id_number_index`` (one account per person) and ``phone_index`` (log in by phone).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from idp.models.base import Base, UTCDateTime, new_id, utcnow

# Columns holding sealed personal data, with the context each value is bound to.
SEALED_COLUMNS = ("name_sealed", "id_number_sealed", "phone_sealed")


class Account(Base):
    __tablename__ = "accounts"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    # The public, stable subject identifier released to portals as ``sub``.
    subject: Mapped[str] = mapped_column(String(64), unique=True, default=new_id)
    # An operator-chosen login name (test and service accounts); people who registered
    # themselves log in with their phone number or ID number instead.
    username: Mapped[str | None] = mapped_column(String(128), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    name_sealed: Mapped[str | None] = mapped_column(Text)
    # "resident_id" or "passport" (idp.identity.documents.ID_TYPES).
    id_type: Mapped[str | None] = mapped_column(String(16))
    id_number_sealed: Mapped[str | None] = mapped_column(Text)
    id_number_index: Mapped[str | None] = mapped_column(String(64), unique=True)
    phone_sealed: Mapped[str | None] = mapped_column(Text)
    phone_index: Mapped[str | None] = mapped_column(String(64), unique=True)
    phone_verified: Mapped[bool] = mapped_column(Boolean, default=False)
    # "natural_person" or "legal_person": which agreements apply and the `user_type` claim.
    user_type: Mapped[str] = mapped_column(String(16), default="natural_person")
    # "active" or "suspended" (natural-person agreement clause 7).
    status: Mapped[str] = mapped_column(String(16), default="active")
    # Verification level L0..L4 (idp.identity.levels) and when it was last established.
    verification_level: Mapped[str] = mapped_column(String(4), default="L0")
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    password_changed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # Bumped whenever every existing session and token must stop working.
    security_stamp: Mapped[int] = mapped_column(Integer, default=0)
    # Whether a confirmed second factor exists (idp.identity.factors keeps it with the rows in
    # the same transaction): the login's decision reads the row it already has, no query.
    has_second_factor: Mapped[bool] = mapped_column(Boolean, default=False)

    @property
    def active(self) -> bool:
        return self.status == "active"

    @property
    def acr(self) -> str:
        return f"urn:idp:loa:{self.verification_level}"

    def context(self, column: str) -> str:
        """What a sealed value of this row is bound to (AES-GCM associated data)."""
        return f"accounts.{column}:{self.id}"
