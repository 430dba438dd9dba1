"""Registration agreements: kinds, versions, and the evidence of each acceptance.

Natural-person agreement clause 10 (and legal-person clause 10): supplementary rules published
later are part of the agreement without signing again; a *material* version needs fresh
acceptance. Acceptance rows are evidence: written once, never updated.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from idp.models.base import Base, UTCDateTime, new_id, utcnow

NATURAL_PERSON = "natural_person"
LEGAL_PERSON = "legal_person"


class AgreementKind(Base):
    __tablename__ = "agreement_kinds"

    kind: Mapped[str] = mapped_column(String(64), primary_key=True)
    title: Mapped[str] = mapped_column(String(255))
    # Which accounts must accept it: "natural_person", "legal_person" or "all".
    applies_to: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class AgreementVersion(Base):
    __tablename__ = "agreement_versions"
    __table_args__ = (UniqueConstraint("kind", "version", "language"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    kind: Mapped[str] = mapped_column(ForeignKey("agreement_kinds.kind"))
    version: Mapped[int] = mapped_column(Integer)
    language: Mapped[str] = mapped_column(String(16))  # BCP 47: zh-CN, en
    text: Mapped[str] = mapped_column(Text)
    text_sha256: Mapped[str] = mapped_column(String(64))
    # Material: needs fresh acceptance. Supplementary: binds without re-signing (clause 10).
    material: Mapped[bool] = mapped_column(Boolean)
    # A translation for reference only; the Chinese text is the one accepted.
    reference_translation: Mapped[bool] = mapped_column(Boolean, default=False)
    effective_at: Mapped[datetime] = mapped_column(UTCDateTime())
    published_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    published_by: Mapped[str] = mapped_column(String(128))


class AgreementAcceptance(Base):
    """Evidence that an account was shown an exact text and accepted it (or was notified)."""

    __tablename__ = "agreement_acceptances"
    __table_args__ = (Index("ix_agreement_acceptances_account", "account_id", "kind"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    # No foreign key: evidence outlives the account (it is pseudonymised, never deleted).
    account_id: Mapped[str] = mapped_column(String(36))
    kind: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer)
    language: Mapped[str] = mapped_column(String(16))
    text_sha256: Mapped[str] = mapped_column(String(64))
    # "accepted" (material version) or "notified" (supplementary version shown at login).
    action: Mapped[str] = mapped_column(String(16))
    accepted_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    ip_address: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(512))
    client_id: Mapped[str | None] = mapped_column(String(64))
