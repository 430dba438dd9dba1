"""Pairs of portals between which token exchange is allowed (RFC 8693; issue 18, item 6).

Only the operator pairs portals (``idp clients pair A B``, the admin API's
``/admin/api/clients/{client_id}/pairs``): a pair (A, B) lets the back end of A exchange an
access token a person's login gave it for a short-lived token for B (``idp.oauth.token_exchange``).
Pairs are one-way; A must be a confidential portal (it authenticates at the token endpoint). Each
change is audited (``client_paired``, ``client_unpaired``) in the transaction that makes it.
"""

from __future__ import annotations

from sqlalchemy import select

from idp.identity.audit import event as audit_event
from idp.models import Client, PortalPair
from idp.models.base import Database
from idp.oauth.clients import Actor, ClientNotFound, RegistryError


class InvalidPair(RegistryError):
    """A pair that cannot be made: a portal with itself, or a public portal as the caller."""

    code = "invalid_pair"
    status = 409


class PortalPairs:
    def __init__(self, db: Database) -> None:
        self._db = db

    def _client(self, client_id: str) -> Client:
        client = self._db.session.get(Client, client_id) if 0 < len(client_id) <= 64 else None
        if client is None:
            raise ClientNotFound(client_id)
        return client

    def pair(
        self, client_id: str, target_client_id: str, *, actor: Actor, reason: str | None = None
    ) -> PortalPair:
        """Allow ``client_id`` to exchange tokens for ``target_client_id`` (idempotent)."""
        client, target = self._client(client_id), self._client(target_client_id)
        if client.client_id == target.client_id:
            raise InvalidPair(public_message="a portal cannot be paired with itself")
        if client.public:
            raise InvalidPair(
                public_message="a public portal cannot exchange tokens: it has no credentials"
            )
        with self._db.transaction() as session:
            row = session.get(PortalPair, (client.client_id, target.client_id))
            if row is None:
                row = PortalPair(
                    client_id=client.client_id,
                    target_client_id=target.client_id,
                    created_by=actor.id[:128],
                )
                session.add(row)
                session.add(_audit("client_paired", actor, client, target, reason))
        return row

    def unpair(
        self, client_id: str, target_client_id: str, *, actor: Actor, reason: str | None = None
    ) -> bool:
        """End the pair; False if there was none. Tokens already exchanged run out (they
        live ``IDP_TOKEN_EXCHANGE_TTL`` at most)."""
        client, target = self._client(client_id), self._client(target_client_id)
        with self._db.transaction() as session:
            row = session.get(PortalPair, (client.client_id, target.client_id))
            if row is None:
                return False
            session.delete(row)
            session.add(_audit("client_unpaired", actor, client, target, reason))
        return True

    def targets_of(self, client_id: str) -> list[str]:
        """The portals ``client_id`` may exchange tokens for."""
        query = (
            select(PortalPair.target_client_id)
            .where(PortalPair.client_id == client_id)
            .order_by(PortalPair.target_client_id)
        )
        return list(self._db.session.scalars(query))

    def pairs(self, client_id: str | None = None) -> list[PortalPair]:
        query = select(PortalPair).order_by(PortalPair.client_id, PortalPair.target_client_id)
        if client_id is not None:
            query = query.where(PortalPair.client_id == client_id)
        return list(self._db.session.scalars(query))


def _audit(action: str, actor: Actor, client: Client, target: Client, reason: str | None) -> object:
    details: dict[str, str] = {"via": actor.via, "target_client_id": target.client_id}
    if reason:
        details["reason"] = reason
    return audit_event(
        action,
        actor=actor.id,
        client_id=client.client_id,
        ip_address=actor.ip_address,
        details=details,
    )
