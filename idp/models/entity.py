"""Legal persons (companies and other organisations) and the people who act for them.

Legal-person agreement: the account is in the hands of the legal representative (法定代表人),
the administrators they authorise (授权人) and the handlers (经办人) they delegate to, under graded
and classified authorisation (分级分类授权管理); the legal person answers for what they do.

- ``LegalEntity``: one per unified social credit code (USCC, public registry data, kept in clear).
- ``EntityRole``: the legal representative (exactly one, every right) and administrators (each
  with the scope within which they manage handlers).
- ``HandlerGrant``: a handler's graded, classified, time-limited authority; usable once the
  handler confirmed it.
- ``MatterClass``: the operator's catalogue of hierarchical codes of government service matters.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, Index, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from idp.models.base import Base, UTCDateTime, new_id, utcnow


class LegalEntity(Base):
    __tablename__ = "legal_entities"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    # The public subject identifier of the company: never the USCC itself.
    subject: Mapped[str] = mapped_column(String(64), unique=True, default=new_id)
    uscc: Mapped[str] = mapped_column(String(18), unique=True)
    name: Mapped[str] = mapped_column(String(255))
    entity_type: Mapped[str] = mapped_column(String(64))
    region: Mapped[str] = mapped_column(String(6))
    # "active", "suspended" (by the authority) or "cancelled"
    status: Mapped[str] = mapped_column(String(16), default="active")
    # How the company itself was verified: L2 by the market regulation registry.
    verification_level: Mapped[str] = mapped_column(String(4), default="L2")
    registry_reference: Mapped[str | None] = mapped_column(String(128))
    verified_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    @property
    def active(self) -> bool:
        return self.status == "active"


class EntityRole(Base):
    """The legal representative or an administrator of a company."""

    __tablename__ = "entity_roles"
    __table_args__ = (
        UniqueConstraint("entity_id", "account_id"),
        # Exactly one legal representative per company, held by the database (migration 0012).
        Index(
            "uq_entity_roles_legal_representative",
            "entity_id",
            unique=True,
            sqlite_where=text("role = 'legal_representative'"),
            postgresql_where=text("role = 'legal_representative'"),
        ),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    entity_id: Mapped[str] = mapped_column(
        ForeignKey("legal_entities.id", ondelete="CASCADE"), index=True
    )
    account_id: Mapped[str] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    # "legal_representative" or "administrator"
    role: Mapped[str] = mapped_column(String(32))
    # An administrator's scope: the highest grade, the classes and the regions within which they
    # manage handlers (empty regions: everywhere). The legal representative holds every right.
    grade: Mapped[str] = mapped_column(String(16), default="sign")
    matters: Mapped[list[str]] = mapped_column(JSON, default=list)
    regions: Mapped[list[str]] = mapped_column(JSON, default=list)
    appointed_by: Mapped[str | None] = mapped_column(String(36))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    entity: Mapped[LegalEntity] = relationship(lazy="joined", innerjoin=True)


class HandlerGrant(Base):
    """A handler's authority to act for a company (graded and classified authorisation)."""

    __tablename__ = "handler_grants"
    __table_args__ = (Index("ix_handler_grants_account_status", "account_id", "status"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    entity_id: Mapped[str] = mapped_column(
        ForeignKey("legal_entities.id", ondelete="CASCADE"), index=True
    )
    # No foreign key: the grant is the company's record of whom it authorised and outlives the
    # handler's account (revoked, under the pseudonymous id; legal-person agreement clause 6).
    account_id: Mapped[str] = mapped_column(String(36))
    # "view" < "apply" < "sign": each includes the one before.
    grade: Mapped[str] = mapped_column(String(16))
    matters: Mapped[list[str]] = mapped_column(JSON, default=list)
    # Empty: every region.
    regions: Mapped[list[str]] = mapped_column(JSON, default=list)
    valid_from: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    valid_until: Mapped[datetime] = mapped_column(UTCDateTime())
    # "pending" (awaiting the handler's confirmation), "active", "declined", "suspended",
    # "revoked"
    status: Mapped[str] = mapped_column(String(16), default="pending")
    granted_by: Mapped[str] = mapped_column(String(36))
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    entity: Mapped[LegalEntity] = relationship(lazy="joined", innerjoin=True)

    def usable(self, now: datetime) -> bool:
        return (
            self.status == "active"
            and self.valid_from <= now < self.valid_until
            and self.entity.active
        )


class MatterClass(Base):
    """A class of government service matters: hierarchical codes (``tax``, ``tax.declaration``)."""

    __tablename__ = "matter_classes"

    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    name_en: Mapped[str | None] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    @property
    def parent(self) -> str | None:
        return self.code.rsplit(".", 1)[0] if "." in self.code else None
