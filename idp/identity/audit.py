"""The audit trail: who did what, when and from where (identifiers and outcomes only).

Every service that changes an account, a portal, a company or a grant writes here, each event
in its own short transaction (``audit_events``). Personal data never goes in ``details``: the
rows name accounts by id and portals by ``client_id`` (PIPL article 51, data minimisation).
The console searches them (:meth:`Audit.search`): who did what, when and why.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlalchemy import select

from idp.models import AuditEvent
from idp.models.base import Database

log = logging.getLogger(__name__)


def event(
    action: str,
    *,
    actor: str | None = None,
    account_id: str | None = None,
    client_id: str | None = None,
    ip_address: str | None = None,
    details: dict[str, Any] | None = None,
    entity_id: str | None = None,
) -> AuditEvent:
    """An audit row to add to a transaction that is already open."""
    return AuditEvent(
        action=action,
        actor=actor,
        account_id=account_id,
        client_id=client_id,
        ip_address=ip_address,
        details=details or {},
        entity_id=entity_id,
    )


class Audit:
    """Writes audit events; one per call, committed at once."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def __call__(
        self,
        action: str,
        *,
        actor: str | None = None,
        account_id: str | None = None,
        client_id: str | None = None,
        ip_address: str | None = None,
        details: dict[str, Any] | None = None,
        entity_id: str | None = None,
    ) -> None:
        row = event(
            action,
            actor=actor,
            account_id=account_id,
            client_id=client_id,
            ip_address=ip_address,
            details=details,
            entity_id=entity_id,
        )
        with self._db.transaction() as session:
            session.add(row)
        log.info("audit %s account=%s client=%s", action, account_id, client_id)

    def search(
        self,
        *,
        action: str | None = None,
        account_id: str | None = None,
        client_id: str | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
        offset: int = 0,
        limit: int = 50,
    ) -> list[AuditEvent]:
        """Events newest first, filtered by what is given (``start`` included, ``end`` not)."""
        query = select(AuditEvent).order_by(AuditEvent.created_at.desc(), AuditEvent.id)
        if action:
            query = query.where(AuditEvent.action == action)
        if account_id:
            query = query.where(AuditEvent.account_id == account_id)
        if client_id:
            query = query.where(AuditEvent.client_id == client_id)
        if start:
            query = query.where(AuditEvent.created_at >= start)
        if end:
            query = query.where(AuditEvent.created_at < end)
        return list(self._db.session.scalars(query.offset(offset).limit(limit)))
