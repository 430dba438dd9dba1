"""Disclosure records: which claims went to which portal, in a hash chain.

Natural-person agreement clause 5 and PIPL articles 23 and 29: every release of personal
information to a portal is recorded. The request writes a :class:`QueuedDisclosure` (durable,
not yet chained); the chainer moves queued records into :class:`DisclosureRecord`, where each
entry stores the SHA-256 of the previous entry, so an edited, inserted or removed entry breaks
the chain (``idp audit verify``). Claim *names* only, never values.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from idp.models.base import Base, UTCDateTime, utcnow

GENESIS_HASH = "0" * 64


class DisclosureRecord(Base):
    __tablename__ = "disclosures"
    __table_args__ = (
        Index("ix_disclosures_account_time", "account_id", "created_at"),
        Index("ix_disclosures_created_at", "created_at"),
    )

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    account_id: Mapped[str] = mapped_column(String(36))
    client_id: Mapped[str] = mapped_column(String(64), index=True)
    channel: Mapped[str] = mapped_column(String(16))  # id_token, userinfo, introspection
    claims: Mapped[list[str]] = mapped_column(JSON)
    prev_hash: Mapped[str] = mapped_column(String(64))
    entry_hash: Mapped[str] = mapped_column(String(64))


class DisclosureChainHead(Base):
    """One row: the last sequence number and hash. The chainer locks it for a batch, so the
    chain never forks (requests never touch it)."""

    __tablename__ = "disclosure_chain_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, default=0)
    last_hash: Mapped[str] = mapped_column(String(64), default=GENESIS_HASH)


class QueuedDisclosure(Base):
    """A release recorded by the request and not yet linked into the chain.

    Written by one INSERT in the request's own short transaction (no shared row is touched);
    the chainer (``idp.identity.disclosures.chain_batch``) moves it into ``disclosures`` with
    its original ``created_at``, in the same transaction as it deletes it here.
    """

    __tablename__ = "disclosure_queue"
    __table_args__ = (
        Index("ix_disclosure_queue_account_time", "account_id", "created_at"),
        # Ids are never reused on SQLite either: their order is the order of recording.
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    account_id: Mapped[str] = mapped_column(String(36))
    client_id: Mapped[str] = mapped_column(String(64))
    channel: Mapped[str] = mapped_column(String(16))
    claims: Mapped[list[str]] = mapped_column(JSON)
