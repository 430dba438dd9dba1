"""Initial access tokens for dynamic client registration (RFC 7591 section 3, "initial access
token"; docs/portals.md).

An administrator issues one (``idp clients initial-access-token``, the console or the admin API)
and hands it to a portal's operator, who registers the portal at ``/register-client`` with it.
Only the SHA-256 of the token is stored. A token allows ``uses_allowed`` registrations until
``expires_at``; each successful registration takes one use atomically.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from idp.models.base import Base, UTCDateTime, new_id, utcnow


class InitialAccessToken(Base):
    __tablename__ = "initial_access_tokens"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    uses_allowed: Mapped[int] = mapped_column()
    uses_remaining: Mapped[int] = mapped_column()
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # Who issued it: an administrator's account id, or "cli".
    created_by: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    @property
    def usable(self) -> bool:
        return self.uses_remaining > 0 and self.expires_at > utcnow()
