"""Pairs of portals between which token exchange is allowed (RFC 8693; issue 18, item 6).

A pair (``client_id``, ``target_client_id``) lets the back end of ``client_id`` exchange an
access token a person's login gave it for a token for ``target_client_id`` (``idp.oauth.
token_exchange``). Pairs are one-way and made by the operator only (``idp clients pair``, the
admin API); deleting either portal deletes the pair.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from idp.models.base import Base, UTCDateTime, utcnow


class PortalPair(Base):
    __tablename__ = "portal_pairs"

    client_id: Mapped[str] = mapped_column(
        ForeignKey("clients.client_id", ondelete="CASCADE"), primary_key=True
    )
    target_client_id: Mapped[str] = mapped_column(
        ForeignKey("clients.client_id", ondelete="CASCADE"), primary_key=True, index=True
    )
    # Who made the pair (the administrator or "cli").
    created_by: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
