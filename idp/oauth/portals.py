"""Looking portals (clients) up for a request: an active portal by ``client_id``, display names.

Administering portals (metadata rules, secrets, dynamic registration) is ``idp.oauth.clients``.
Every authorization, token, introspection and revocation request looks its portal up, so
portals are cached in each process (``idp.store.versions``): any committed change to a portal,
by whatever code, bumps the shared version (``Services`` wires ``Database.on_commit_of``), and
the next lookup in every process reads it again.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select

from idp.models import Client
from idp.models.base import Database
from idp.store.versions import SharedVersions, VersionedCache

MAX_CLIENT_ID_LENGTH = 64


CACHE_AREA = "clients"


class Portals:
    def __init__(self, db: Database, versions: SharedVersions) -> None:
        self._db = db
        self._cache: VersionedCache[str, Client | None] = VersionedCache(
            versions, CACHE_AREA, self._load
        )

    def find(self, client_id: str | None) -> Client | None:
        """An active portal, or None (unknown, suspended, or not a client id at all).

        The portal is a detached, cached row shared by the process's threads: read it, never
        change it (``idp.oauth.clients.ClientRegistry`` changes portals)."""
        if not client_id or len(client_id) > MAX_CLIENT_ID_LENGTH:
            return None
        client = self._cache.get(client_id)
        return client if client is not None and client.active else None

    def _load(self, client_id: str) -> Client | None:
        # Its own short session: the cached row belongs to no request's session.
        with self._db.session_factory() as session:
            client = session.get(Client, client_id)
            if client is not None:
                session.expunge(client)
            return client

    def names(self, client_ids: Iterable[str | None]) -> dict[str, str]:
        """Display names of portals, suspended ones included; a deleted portal has none."""
        wanted = {c for c in client_ids if c}
        if not wanted:
            return {}
        rows = self._db.session.execute(
            select(Client.client_id, Client.name).where(Client.client_id.in_(wanted))
        )
        return {client_id: name for client_id, name in rows}
