"""The SMS outbox: one-time codes waiting to be sent (issue 21, item 10: no timing oracle).

A request that issues a code writes one row here, in its own short transaction, instead of
calling the SMS gateway; a sender (``idp.identity.sms_outbox``) delivers it later. A request for
a number that has no account writes the same row with the status ``drop``, which the sender
discards without calling the gateway: both requests do the same work.

The phone and the message's parameters (the code) are stored only sealed with the personal-data
key (``idp.identity.personal_data``), bound to the row, and both are cleared once the message is
finished (sent, dropped or expired). Statuses::

    pending -> sending (leased until next_attempt_at) -> sent | pending (retry) | expired
    drop -> dropped

``next_attempt_at`` is when the row is next due (a lease moves it to the end of the lease) and
NULL once it is finished.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from idp.models.base import Base, UTCDateTime, new_id, utcnow

# Statuses of a message that still has work to do, and of a finished one.
WAITING = ("pending", "sending", "drop")
FINISHED = ("sent", "dropped", "expired")


class SmsMessage(Base):
    __tablename__ = "sms_outbox"
    __table_args__ = (
        Index("ix_sms_outbox_due", "next_attempt_at"),
        Index("ix_sms_outbox_created_at", "created_at"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # The template: the code's purpose (register, login, change_phone, recover, grant).
    kind: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    # Sealed (context ``sms_outbox.phone:<id>``, ``sms_outbox.params:<id>``); NULL once finished.
    phone_sealed: Mapped[str | None] = mapped_column(Text)
    params_sealed: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(String(255))

    @staticmethod
    def context(column: str, message_id: str) -> str:
        """The associated data of a sealed column: the value opens only in its own row."""
        return f"sms_outbox.{column.removesuffix('_sealed')}:{message_id}"
