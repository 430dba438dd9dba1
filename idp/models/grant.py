"""Grants and tokens.

A *grant* is one authorization: the account, the portal, the scopes and the login that produced it
(``sid``, ``auth_time``, ``acr``, ``amr``). It is created when an authorization code is issued, so
that every token ever issued from that code can be revoked together (RFC 6749 4.1.2,
RFC 9700 4.14.2: reuse of a code or of a rotated refresh token revokes the whole family).

A *token* row holds one access token and, optionally, one refresh token, stored as SHA-256 hashes.
Refreshing rotates: a new row is issued and the old refresh token is marked ``rotated``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from idp.models.account import Account
from idp.models.base import Base, UTCDateTime, new_id, utcnow
from idp.models.client import Client
from idp.models.entity import LegalEntity


class Grant(Base):
    __tablename__ = "grants"
    __table_args__ = (Index("ix_grants_account_client", "account_id", "client_id"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    client_id: Mapped[str] = mapped_column(ForeignKey("clients.client_id", ondelete="CASCADE"))
    scope: Mapped[str] = mapped_column(String(1024))
    claims: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # the OIDC `claims` request
    # The user claims the person allowed for this grant (consent); nothing else is released.
    released_claims: Mapped[list[str] | None] = mapped_column(JSON)
    sid: Mapped[str | None] = mapped_column(String(64), index=True)
    auth_time: Mapped[int] = mapped_column()
    acr: Mapped[str | None] = mapped_column(String(64))
    amr: Mapped[list[str]] = mapped_column(JSON, default=list)
    security_stamp: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_reason: Mapped[str | None] = mapped_column(String(64))
    # A company login (issue: legal persons): the company acted for, and what the person may do
    # for it (a snapshot of the role or handler grant, re-checked at every refresh). Revoking the
    # role or the handler grant revokes every grant whose ``delegation_source`` it is.
    entity_id: Mapped[str | None] = mapped_column(
        ForeignKey("legal_entities.id", ondelete="CASCADE"), index=True
    )
    delegation_source: Mapped[str | None] = mapped_column(String(36), index=True)
    delegation: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # RFC 9396: the authorization details granted (``idp.oauth.authorization_details``).
    authorization_details: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    # RFC 8693 (``idp.oauth.token_exchange``): a grant made by a token exchange carries the
    # actor chain (``{"sub": calling portal, "act": ...}``) and the login grant it came from.
    act: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    exchanged_from: Mapped[str | None] = mapped_column(String(36), index=True)

    account: Mapped[Account] = relationship(lazy="joined", innerjoin=True)
    client: Mapped[Client] = relationship(lazy="joined", innerjoin=True)
    entity: Mapped[LegalEntity | None] = relationship(lazy="joined")

    def delegation_expired(self, now: datetime) -> bool:
        """A company grant whose delegation has run out (its tokens are inactive)."""
        if self.delegation is None:
            return False
        expires = self.delegation.get("expires_at")
        if expires is not None and now.timestamp() >= expires:
            return True
        return self.entity is not None and not self.entity.active


class Token(Base):
    __tablename__ = "tokens"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    grant_id: Mapped[str] = mapped_column(ForeignKey("grants.id", ondelete="CASCADE"), index=True)
    access_token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    refresh_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    scope: Mapped[str] = mapped_column(String(1024))
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    access_expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    refresh_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Set when this row's refresh token was exchanged for a new one (rotation).
    rotated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Set when this row's access token alone was revoked (RFC 7009).
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # DPoP (RFC 9449 6): the RFC 7638 thumbprint of the key this row's access token is bound
    # to (``cnf.jkt``); a public portal's refresh token is bound to it too (RFC 9449 5).
    cnf_jkt: Mapped[str | None] = mapped_column(String(43))
    # RFC 9396 6: a subset of the grant's authorization details asked for at the token endpoint.
    authorization_details: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)

    grant: Mapped[Grant] = relationship(lazy="joined", innerjoin=True)
