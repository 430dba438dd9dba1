"""Delivery addresses and the login history of the user space (issue 12, items 4 and 5).

- ``delivery_addresses``: the addresses a person gives for third-party services they choose,
  such as delivery of a decision by post (natural-person agreement clause 4(6)). Everything the
  person typed is personal data and is held only sealed (``details_sealed``: one JSON object,
  bound to this row; ``idp.identity.personal_data``); only the default mark is plain.
- ``login_history``: one row per interactive login that completed (time, portal, method, the
  address cut to its network, the user agent), shown to the person on ``/account/security``
  and kept ``IDP_LOGIN_HISTORY_DAYS`` (``idp db prune``).

Both go with the account: its row is deleted at cancellation and ``ON DELETE CASCADE`` removes
them in the same transaction (clause 8).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from idp.models.base import Base, UTCDateTime, new_id, utcnow


class DeliveryAddress(Base):
    __tablename__ = "delivery_addresses"
    __table_args__ = (
        # At most one default per account.
        Index(
            "uq_delivery_addresses_default",
            "account_id",
            unique=True,
            sqlite_where=text("is_default"),
            postgresql_where=text("is_default"),
        ),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    account_id: Mapped[str] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    # JSON {recipient, phone, region_code, street, postal_code}, sealed (AES-256-GCM).
    details_sealed: Mapped[str] = mapped_column(Text)
    # The address released as the ``address`` claim (OIDC Core 5.1.1); at most one per account.
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    @property
    def context(self) -> str:
        """What the sealed details are bound to (AES-GCM associated data)."""
        return f"delivery_addresses.details_sealed:{self.id}"


class LoginRecord(Base):
    __tablename__ = "login_history"
    __table_args__ = (Index("ix_login_history_account_created", "account_id", "created_at"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    # The portal the login was for; None for the user space itself. No foreign key: the row
    # stays when the portal is deleted.
    client_id: Mapped[str | None] = mapped_column(String(64))
    # "password", "sms", "scan", "registration" (idp.identity.security.login_method).
    method: Mapped[str] = mapped_column(String(32))
    # Only the network: /24 (IPv4) or /48 (IPv6).
    ip_network: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(255))
