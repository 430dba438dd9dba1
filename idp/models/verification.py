"""Verification evidence: every check of a person's identity elements, kept as a record.

Issue "real-name registration", item 5: the elements checked, the source, the time and the result.
No element value is stored: bank cards (and other account numbers) appear only as their last four
digits and a keyed hash, in ``detail``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from idp.models.base import Base, UTCDateTime, new_id, utcnow


class Verification(Base):
    __tablename__ = "verifications"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    account_id: Mapped[str] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    # The element set (idp.identity.verifiers.CHECKS), "sms" or "counter" (in person, L4).
    check: Mapped[str] = mapped_column(String(32))
    source: Mapped[str] = mapped_column(String(64))
    elements: Mapped[list[str]] = mapped_column(JSON, default=list)
    # "match", "no_match" or "unavailable"
    result: Mapped[str] = mapped_column(String(16))
    level_before: Mapped[str] = mapped_column(String(4))
    level_after: Mapped[str] = mapped_column(String(4))
    # The source's transaction reference, or the counter's reference for L4.
    reference: Mapped[str | None] = mapped_column(String(128))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Who recorded it: the account itself, or an administrator (counter verification).
    actor: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
