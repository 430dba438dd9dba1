"""Audit events: who did what, when, and from where. Append-only."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from idp.models.base import Base, UTCDateTime, new_id, utcnow


class AuditEvent(Base):
    __tablename__ = "audit_events"
    __table_args__ = (
        Index("ix_audit_events_account_time", "account_id", "created_at"),
        # Retention finds the cancellations whose evidence period has ended.
        Index("ix_audit_events_action_time", "action", "created_at"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    action: Mapped[str] = mapped_column(String(64))
    actor: Mapped[str | None] = mapped_column(String(128))  # account id, "cli", or a client id
    account_id: Mapped[str | None] = mapped_column(String(36))
    client_id: Mapped[str | None] = mapped_column(String(64))
    ip_address: Mapped[str | None] = mapped_column(String(64))
    # The company concerned, for its audit trail (legal-person agreement: the legal person
    # answers for what is done in its name).
    entity_id: Mapped[str | None] = mapped_column(String(36), index=True)
    # Never personal data: identifiers and outcomes only.
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
