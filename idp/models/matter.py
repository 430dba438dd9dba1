"""Matters (办件) of the user space: what portals report about the matters a person or a company
applied for (natural-person agreement clause 3: "query the process and history of the matters
one has applied for"; issue 12, item 1; docs/user-space.md).

- A *portal subject* is the ``sub`` a portal saw for a person or a company at a login (public or
  pairwise: ``idp.oauth.subjects``), written when the login's grant is made. It is both the
  evidence that the subject logged in to that portal at least once and the way back from the
  portal's ``sub`` to the account (a pairwise ``sub`` is a one-way hash).
- A *matter* is the portal's record of one application, identified by the portal's own id
  (``portal_reference``, unique per portal: reporting it again is idempotent), with its class
  from the catalogue (``matter_classes``) and a title (sealed: it may name the person).
- A *step* is one status of its timeline (received, accepted, supplement requested, decided,
  closed), with the time the portal gives, an optional note (sealed) and an optional https link
  back to the portal.

The person's matters go with the account row (``ON DELETE CASCADE``: cancellation deletes the
row, clause 8): the portal keeps its own record, we keep no copy. A company's matters stay with
the company.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from idp.models.base import Base, UTCDateTime, new_id, utcnow

# The statuses of a matter's timeline, in their usual order.
MATTER_STATUSES = ("received", "accepted", "supplement_requested", "decided", "closed")


class PortalSubject(Base):
    __tablename__ = "portal_subjects"

    client_id: Mapped[str] = mapped_column(
        ForeignKey("clients.client_id", ondelete="CASCADE"), primary_key=True
    )
    # The ``sub`` the portal sees (public or pairwise).
    subject: Mapped[str] = mapped_column(String(64), primary_key=True)
    # Exactly one of the two: a person, or a company (a company login's ``sub``).
    account_id: Mapped[str | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    entity_id: Mapped[str | None] = mapped_column(
        ForeignKey("legal_entities.id", ondelete="CASCADE"), index=True
    )
    first_login_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Matter(Base):
    __tablename__ = "matters"
    __table_args__ = (
        UniqueConstraint("client_id", "portal_reference"),
        # The person's list, newest first; the company's list.
        Index("ix_matters_account_submitted", "account_id", "submitted_at"),
        Index("ix_matters_entity_submitted", "entity_id", "submitted_at"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    client_id: Mapped[str] = mapped_column(ForeignKey("clients.client_id", ondelete="CASCADE"))
    portal_reference: Mapped[str] = mapped_column(String(128))
    account_id: Mapped[str | None] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    entity_id: Mapped[str | None] = mapped_column(
        ForeignKey("legal_entities.id", ondelete="CASCADE")
    )
    matter_class: Mapped[str] = mapped_column(String(64))
    title_sealed: Mapped[str] = mapped_column(Text)
    # Where the person continues on the portal (https, a host of the portal's redirect URIs).
    link: Mapped[str | None] = mapped_column(Text)
    # The latest step's status (``received`` until a step says otherwise).
    status: Mapped[str] = mapped_column(String(32), default="received")
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    steps: Mapped[list[MatterStep]] = relationship(
        order_by=lambda: [MatterStep.occurred_at, MatterStep.created_at],
        cascade="all, delete-orphan",
        passive_deletes=True,
        lazy="selectin",
    )

    def context(self, column: str) -> str:
        """What a sealed value of this row is bound to (AES-GCM associated data)."""
        return f"matters.{column}:{self.id}"


class MatterStep(Base):
    __tablename__ = "matter_steps"
    # The same status at the same time is the same step: a retried request adds nothing.
    __table_args__ = (UniqueConstraint("matter_id", "status", "occurred_at"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    matter_id: Mapped[str] = mapped_column(ForeignKey("matters.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(32))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime())
    note_sealed: Mapped[str | None] = mapped_column(Text)
    link: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    def context(self, column: str) -> str:
        return f"matter_steps.{column}:{self.id}"


def remember_subject(session: Session, row: PortalSubject) -> None:
    """Record the ``sub`` a portal saw at a login, once: a later login changes nothing (one
    ``INSERT ... ON CONFLICT DO NOTHING``, in the caller's transaction, on SQLite and
    PostgreSQL alike)."""
    values = {
        "client_id": row.client_id,
        "subject": row.subject,
        "account_id": row.account_id,
        "entity_id": row.entity_id,
        "first_login_at": row.first_login_at or utcnow(),
    }
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(PortalSubject).values(**values).on_conflict_do_nothing()
    session.execute(statement)
