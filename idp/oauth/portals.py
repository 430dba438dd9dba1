"""Looking portals (clients) up for a request: an active portal by ``client_id``, display names.

Administering portals (metadata rules, secrets, dynamic registration) is ``idp.oauth.clients``.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select

from idp.models import Client
from idp.models.base import Database

MAX_CLIENT_ID_LENGTH = 64


class Portals:
    def __init__(self, db: Database) -> None:
        self._db = db

    def find(self, client_id: str | None) -> Client | None:
        """An active portal, or None (unknown, suspended, or not a client id at all)."""
        if not client_id or len(client_id) > MAX_CLIENT_ID_LENGTH:
            return None
        client = self._db.session.get(Client, client_id)
        return client if client is not None and client.active else None

    def names(self, client_ids: Iterable[str | None]) -> dict[str, str]:
        """Display names of portals, suspended ones included; a deleted portal has none."""
        wanted = {c for c in client_ids if c}
        if not wanted:
            return {}
        rows = self._db.session.execute(
            select(Client.client_id, Client.name).where(Client.client_id.in_(wanted))
        )
        return {client_id: name for client_id, name in rows}
