"""Reading companies: the matters catalogue, companies, roles, grants, memberships, the trail.

Queries only, apart from the catalogue import (the operator's ``idp matters import``) and the
two helpers every change of a company uses inside its transaction: ending the logins made
under a role or grant, and writing the change to the company's trail (legal-person agreement:
every change is audited, in the same transaction).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, func, select, update
from sqlalchemy.orm import Session

from idp.identity import delegation
from idp.identity.delegation import Scope
from idp.identity.entities.rules import MAX_ID_LENGTH, EntityError, Membership, scope_of_role
from idp.models import AuditEvent, EntityRole, Grant, HandlerGrant, LegalEntity, MatterClass
from idp.models.base import Database, utcnow

TRAIL_LENGTH = 200  # the newest events of a company's trail shown at once

# (the change's session, the company logins it ends, the reason): tells the portals of those
# logins, inside the same transaction (Back-Channel Logout 1.0; ``SingleSignOn`` does it). The
# identity layer receives it as a callable, so it imports nothing above it.
LoginsEnded = Callable[[Session, Sequence[Grant], str], None]


@dataclass(frozen=True)
class RegisteredCompany:
    """A registered company with how many administrators and active handler grants it has."""

    entity: LegalEntity
    administrators: int
    active_handler_grants: int


class EntityDirectory:
    """The reads every part of the legal-person rules shares."""

    db: Database
    logins_ended: LoginsEnded | None

    # -- the matters catalogue ---------------------------------------------------------------
    def matters(self, include_inactive: bool = False) -> list[MatterClass]:
        query = select(MatterClass).order_by(MatterClass.code)
        if not include_inactive:
            query = query.where(MatterClass.active.is_(True))
        return list(self.db.session.scalars(query))

    def known_matters(self) -> set[str]:
        return {m.code for m in self.matters()}

    def import_matters(self, rows: Iterable[dict[str, Any]]) -> tuple[int, int]:
        """Add or update catalogue entries (``code``, ``name``, optional ``name_en``,
        ``active``). Every code's parent must be in the catalogue or in the same import.
        All or nothing; returns (added, updated)."""
        rows = list(rows)
        codes = set()
        for index, row in enumerate(rows, 1):
            code = str(row.get("code", "")).strip()
            name = str(row.get("name", "")).strip()
            if not delegation.MATTER_CODE.match(code):
                raise EntityError(f"entry {index}: code must look like tax or tax.declaration")
            if not name or len(name) > 255:
                raise EntityError(f"entry {index}: name is required (at most 255 characters)")
            codes.add(code)
        known = {m.code for m in self.matters(include_inactive=True)} | codes
        for code in codes:
            parent = code.rsplit(".", 1)[0] if "." in code else None
            if parent is not None and parent not in known:
                raise EntityError(f"{code}: its parent class {parent} is not in the catalogue")
        added = updated = 0
        with self.db.transaction() as session:
            for row in rows:
                code = str(row["code"]).strip()
                entry = session.get(MatterClass, code)
                if entry is None:
                    entry = MatterClass(code=code)
                    session.add(entry)
                    added += 1
                else:
                    updated += 1
                entry.name = str(row["name"]).strip()
                entry.name_en = str(row.get("name_en") or "").strip() or None
                entry.active = bool(row.get("active", True))
        return added, updated

    # -- companies, roles and grants ---------------------------------------------------------
    def get(self, entity_id: str) -> LegalEntity | None:
        return self.db.session.get(LegalEntity, entity_id) if entity_id else None

    def by_uscc(self, uscc: str) -> LegalEntity | None:
        return self.db.session.scalar(select(LegalEntity).where(LegalEntity.uscc == uscc))

    def registered(self) -> list[RegisteredCompany]:
        """Every registered company, oldest first, with its counts (``idp entities list``)."""
        session = self.db.session
        administrators = dict(
            session.execute(
                select(EntityRole.entity_id, func.count())
                .where(EntityRole.role == "administrator")
                .group_by(EntityRole.entity_id)
            ).all()
        )
        active_grants = dict(
            session.execute(
                select(HandlerGrant.entity_id, func.count())
                .where(HandlerGrant.status == "active")
                .group_by(HandlerGrant.entity_id)
            ).all()
        )
        return [
            RegisteredCompany(
                entity, administrators.get(entity.id, 0), active_grants.get(entity.id, 0)
            )
            for entity in session.scalars(select(LegalEntity).order_by(LegalEntity.created_at))
        ]

    def role(self, entity_id: str, account_id: str) -> EntityRole | None:
        return self.db.session.scalar(
            select(EntityRole).where(
                EntityRole.entity_id == entity_id, EntityRole.account_id == account_id
            )
        )

    def roles_of(self, account_id: str) -> list[EntityRole]:
        return list(
            self.db.session.scalars(select(EntityRole).where(EntityRole.account_id == account_id))
        )

    def grants_of(self, account_id: str) -> list[HandlerGrant]:
        return list(
            self.db.session.scalars(
                select(HandlerGrant)
                .where(HandlerGrant.account_id == account_id)
                .order_by(HandlerGrant.created_at.desc())
            )
        )

    def represents_open_company(self, account_id: str) -> bool:
        """Whether the account is the legal representative of a company that is not cancelled:
        such an account cannot be cancelled (the company must not be left without one)."""
        return any(
            role.role == "legal_representative" and role.entity.status != "cancelled"
            for role in self.roles_of(account_id)
        )

    def roles(self, entity_id: str) -> list[EntityRole]:
        return list(
            self.db.session.scalars(
                select(EntityRole)
                .where(EntityRole.entity_id == entity_id)
                .order_by(EntityRole.created_at)
            )
        )

    def administrator_count(self, entity_id: str) -> int:
        """How many administrators the company has (at most ``max_administrators``)."""
        return (
            self.db.session.scalar(
                select(func.count())
                .select_from(EntityRole)
                .where(EntityRole.entity_id == entity_id, EntityRole.role == "administrator")
            )
            or 0
        )

    def grants(self, entity_id: str) -> list[HandlerGrant]:
        return list(
            self.db.session.scalars(
                select(HandlerGrant)
                .where(HandlerGrant.entity_id == entity_id)
                .order_by(HandlerGrant.created_at.desc())
            )
        )

    def grant(self, grant_id: str) -> HandlerGrant | None:
        return self.db.session.get(HandlerGrant, grant_id) if grant_id else None

    def company_grant(self, entity_id: str, grant_id: str) -> HandlerGrant | None:
        """A handler grant of this company (ids longer than an id are cut, never looked up)."""
        grant = self.grant(grant_id[:MAX_ID_LENGTH])
        if grant is None or grant.entity_id != entity_id:
            return None
        return grant

    def manager_scope(self, entity_id: str, account_id: str) -> Scope | None:
        """The scope within which this person manages the company's handlers, if any."""
        role = self.role(entity_id, account_id)
        return scope_of_role(role) if role is not None else None

    def membership(self, entity_id: str, account_id: str) -> Membership | None:
        """What the person is in the company; None when they hold neither a role nor a grant
        there (told as "no such company", so that company ids cannot be probed)."""
        if not entity_id or len(entity_id) > MAX_ID_LENGTH:
            return None
        entity = self.get(entity_id)
        if entity is None:
            return None
        role = self.role(entity.id, account_id)
        grants = [g for g in self.grants_of(account_id) if g.entity_id == entity.id]
        if role is None and not grants:
            return None
        return Membership(entity, role, grants)

    def trail(self, entity_id: str, limit: int = TRAIL_LENGTH) -> list[AuditEvent]:
        """The company's trail, newest first."""
        return list(
            self.db.session.scalars(
                select(AuditEvent)
                .where(AuditEvent.entity_id == entity_id)
                .order_by(AuditEvent.created_at.desc())
                .limit(limit)
            )
        )

    # -- inside a change's transaction -------------------------------------------------------
    def _revoke(self, session: Session, source: str, reason: str) -> None:
        """End at once every company login made under the role or grant ``source``."""
        self._end_logins(session, Grant.delegation_source == source, reason)

    def _end_logins(self, session: Session, which: ColumnElement[bool], reason: str) -> None:
        """Revoke the live company logins ``which`` selects, and tell their portals through
        the back channel (the portal's session for the company ends, not the person's own)."""
        live = (which, Grant.revoked_at.is_(None))
        if self.logins_ended is not None:
            ending = session.scalars(select(Grant).where(*live)).all()
            if ending:
                self.logins_ended(session, ending, reason[:64])
        session.execute(
            update(Grant).where(*live).values(revoked_at=utcnow(), revoked_reason=reason[:64])
        )

    @staticmethod
    def _audit(
        session: Session,
        action: str,
        entity_id: str,
        actor: str,
        details: dict[str, Any] | None = None,
    ) -> None:
        """The change in the company's trail (``actor`` ``cli``: the authority)."""
        session.add(
            AuditEvent(
                action=action,
                actor=actor,
                account_id=actor if actor != "cli" else None,
                entity_id=entity_id,
                details=details or {},
            )
        )
