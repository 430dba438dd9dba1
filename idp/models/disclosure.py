"""Disclosure records: which claims went to which portal, in a hash chain.

Natural-person agreement clause 5 and PIPL articles 23 and 29: every release of personal
information to a portal is recorded. Each entry stores the SHA-256 of the previous entry, so an
edited, inserted or removed entry breaks the chain (``idp audit verify``). Claim *names* only,
never values.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from idp.models.base import Base, UTCDateTime, utcnow

GENESIS_HASH = "0" * 64


class DisclosureRecord(Base):
    __tablename__ = "disclosures"
    __table_args__ = (Index("ix_disclosures_account_time", "account_id", "created_at"),)

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    account_id: Mapped[str] = mapped_column(String(36))
    client_id: Mapped[str] = mapped_column(String(64), index=True)
    channel: Mapped[str] = mapped_column(String(16))  # id_token, userinfo, introspection
    claims: Mapped[list[str]] = mapped_column(JSON)
    prev_hash: Mapped[str] = mapped_column(String(64))
    entry_hash: Mapped[str] = mapped_column(String(64))


class DisclosureChainHead(Base):
    """One row: the last sequence number and hash. Appends lock it, so the chain never forks."""

    __tablename__ = "disclosure_chain_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, default=0)
    last_hash: Mapped[str] = mapped_column(String(64), default=GENESIS_HASH)
