"""Accounts: the people who log in."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from idp.models.base import Base, UTCDateTime, new_id, utcnow


class Account(Base):
    __tablename__ = "accounts"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    # The public, stable subject identifier released to portals as ``sub``.
    subject: Mapped[str] = mapped_column(String(64), unique=True, default=new_id)
    username: Mapped[str] = mapped_column(String(128), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    name: Mapped[str | None] = mapped_column(String(255))
    # "natural_person" or "legal_person": which agreements apply and the `user_type` claim.
    user_type: Mapped[str] = mapped_column(String(16), default="natural_person")
    # "active" or "suspended" (natural-person agreement clause 7).
    status: Mapped[str] = mapped_column(String(16), default="active")
    # Verification level: L0 (declared only) .. L4 (real-name verification sets it).
    verification_level: Mapped[str] = mapped_column(String(4), default="L0")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    password_changed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # Bumped whenever every existing session and token must stop working.
    security_stamp: Mapped[int] = mapped_column(Integer, default=0)

    @property
    def active(self) -> bool:
        return self.status == "active"

    @property
    def acr(self) -> str:
        return f"urn:idp:loa:{self.verification_level}"
