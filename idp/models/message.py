"""Messages (消息) of the user space: what portals, the authority and the provider itself push to
a person (natural-person agreement clause 4(4); issue 12, item 2; docs/user-space.md).

- A *message* belongs to one account. ``sender`` is ``portal`` (``client_id`` names it),
  ``authority`` (the console or the admin API) or ``provider`` (the provider's own notices:
  a new login, a changed password). ``essential`` messages (agreement changes, suspension,
  security events) always arrive; the others only while the person has not turned off that
  sender's non-essential messages. A provider notice is stored as its ``kind`` and parameters
  and is worded when shown, in the reader's language; other messages carry a title and a body.
  Title, body and parameters are sealed (they may name the person). A message may link to one
  of the person's matters.
- A *message preference* is the person's choice, per portal (``client_id``) or for the authority
  (``client_id`` empty): ``non_essential`` False means "do not send me non-essential messages"
  (clause 4(4) is a consent: withdrawn and given again, each audited).

Both go with the account row (``ON DELETE CASCADE``, clause 8).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from idp.models.base import Base, UTCDateTime, new_id, utcnow

SENDERS = ("portal", "authority", "provider")
# The key of the authority's preference row (portals use their client_id).
AUTHORITY = ""


class Message(Base):
    __tablename__ = "messages"
    __table_args__ = (
        # The inbox, newest first, and the unread count (one indexed COUNT).
        Index("ix_messages_account_created", "account_id", "created_at"),
        Index("ix_messages_account_read", "account_id", "read_at"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    sender: Mapped[str] = mapped_column(String(16))
    client_id: Mapped[str | None] = mapped_column(
        ForeignKey("clients.client_id", ondelete="CASCADE"), index=True
    )
    # A provider notice's kind (``new_login``, ``password_changed``, ...); ``message`` otherwise.
    kind: Mapped[str] = mapped_column(String(32), default="message")
    essential: Mapped[bool] = mapped_column(Boolean, default=False)
    title_sealed: Mapped[str | None] = mapped_column(Text)
    body_sealed: Mapped[str | None] = mapped_column(Text)
    params_sealed: Mapped[str | None] = mapped_column(Text)
    link: Mapped[str | None] = mapped_column(Text)
    matter_id: Mapped[str | None] = mapped_column(
        ForeignKey("matters.id", ondelete="SET NULL"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    def context(self, column: str) -> str:
        """What a sealed value of this row is bound to (AES-GCM associated data)."""
        return f"messages.{column}:{self.id}"


class MessagePreference(Base):
    __tablename__ = "message_preferences"

    account_id: Mapped[str] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True
    )
    # A portal's client_id, or AUTHORITY ("") for the authority's own messages. No foreign key:
    # the authority has no client row (a deleted portal leaves a row nothing reads).
    client_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    non_essential: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
