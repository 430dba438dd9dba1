"""Consents: what an account allowed a portal to receive (PIPL articles 14 and 29).

A consent remembers the scopes and the claims the person was asked about, and, apart, the
sensitive claims they ticked. Claims asked about but not ticked were refused; a claim never asked
about makes the consent page appear again.

``basis`` says how the consent came about: ``given`` on the consent page; ``implied`` when a
trusted portal skipped the page (recorded all the same, so the person sees it and can withdraw
it: PIPL article 15; it counts only while the portal is trusted); ``withdrawn`` when the person
withdrew an implied consent (no scopes and no claims are left, and the trusted portal asks on
the next login instead of implying it again).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from idp.models.base import Base, UTCDateTime, new_id, utcnow

GIVEN = "given"
IMPLIED = "implied"
WITHDRAWN = "withdrawn"


class Consent(Base):
    __tablename__ = "consents"
    __table_args__ = (UniqueConstraint("account_id", "client_id"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    client_id: Mapped[str] = mapped_column(ForeignKey("clients.client_id", ondelete="CASCADE"))
    scopes: Mapped[list[str]] = mapped_column(JSON, default=list)
    claims_asked: Mapped[list[str]] = mapped_column(JSON, default=list)
    sensitive_claims: Mapped[list[str]] = mapped_column(JSON, default=list)
    basis: Mapped[str] = mapped_column(String(16), default=GIVEN, server_default=GIVEN)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    @property
    def implied(self) -> bool:
        return self.basis == IMPLIED

    @property
    def withdrawn(self) -> bool:
        return self.basis == WITHDRAWN

    def covers(self, scopes: list[str], claims: list[str]) -> bool:
        return set(scopes) <= set(self.scopes) and set(claims) <= set(self.claims_asked)
