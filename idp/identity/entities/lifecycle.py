"""A company's life: registration by its legal representative, a change of legal
representative, suspension by the authority, cancellation.

Legal-person agreement: a natural person at L3 or above registers the company as its legal
representative, confirmed by the market regulation registry (GB 32100 code, name, legal
representative, active). One account per USCC. Suspending or cancelling the company ends every
company login at once; cancelling also revokes every handler grant and removes every
administrator, while the company's record and trail stay.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from idp.identity import delegation, documents, levels
from idp.identity.entities.directory import EntityDirectory
from idp.identity.entities.rules import (
    ENTITY_TYPES,
    MAX_NAME_LENGTH,
    REGISTRATION_LEVEL,
    CompanyRegistered,
    EntityError,
    legal_representative_role,
)
from idp.identity.people import People
from idp.identity.verifiers import Result, Verifier
from idp.models import Account, EntityRole, Grant, HandlerGrant, LegalEntity
from idp.models.base import utcnow

# What a company's registration writes in its own transaction (``CompanyLifecycle.register``).
AlongWithCompany = Callable[[Session, LegalEntity], None]


class _LegalRepresentativeTaken(Exception):
    """A concurrent change of legal representative won the one-per-company index."""


class CompanyLifecycle(EntityDirectory):
    people: People
    verifier: Verifier

    def register(
        self,
        account: Account,
        *,
        uscc: str,
        name: str,
        entity_type: str,
        region: str,
        along: AlongWithCompany | None = None,
    ) -> CompanyRegistered:
        """A natural person at L3 or above registers a company as its legal representative.

        The market regulation registry must confirm the USCC, the name and this person as the
        legal representative, and that the company is active. One account per USCC: when the
        company is registered already and the registry now names this person, the legal
        representative role moves to them (a change of legal representative). What ``along``
        writes (the company's acceptance of its agreement) is in the same transaction.
        """
        errors: dict[str, str] = {}
        if not levels.at_least(account.verification_level, REGISTRATION_LEVEL):
            errors["form"] = "level"
        problem = documents.validate_uscc(uscc)
        if problem:
            errors["uscc"] = problem
        if not name or len(name) > MAX_NAME_LENGTH:
            errors["name"] = "required"
        if entity_type not in ENTITY_TYPES:
            errors["entity_type"] = "unknown"
        if not delegation.REGION_CODE.match(region or ""):
            errors["region"] = "format"
        if errors:
            return CompanyRegistered(errors=errors)
        existing = self.by_uscc(uscc)
        if existing is not None and existing.status != "cancelled":
            current = self.role(existing.id, account.id)
            if current is not None and current.role == "legal_representative":
                return CompanyRegistered(errors={"uscc": "taken"})
        profile = self.people.profile(account)
        verdict = self.verifier.verify(
            "entity",
            {
                "uscc": uscc,
                "name": name,
                "legal_representative_name": profile.name or "",
                "legal_representative_id_number": profile.id_number or "",
            },
        )
        if verdict.result == Result.UNAVAILABLE:
            return CompanyRegistered(errors={"form": "unavailable"})
        if verdict.result == Result.NO_MATCH:
            reason = (
                "inactive" if verdict.detail.get("reason") == "inactive" else "registry_mismatch"
            )
            return CompanyRegistered(errors={"uscc": reason})
        if existing is not None:
            try:
                previous = self._move_legal_representative(
                    existing, account, verdict.reference, along
                )
            except _LegalRepresentativeTaken:
                # Another change of legal representative committed first (the database holds
                # one per company): nothing of this one is stored.
                return CompanyRegistered(errors={"uscc": "taken"})
            return CompanyRegistered(entity=existing, moved_from=previous)
        entity = LegalEntity(
            uscc=uscc,
            name=name,
            entity_type=str(verdict.detail.get("entity_type") or entity_type),
            region=str(verdict.detail.get("region") or region),
            registry_reference=verdict.reference,
            verified_at=verdict.checked_at,
        )
        stored = False
        try:
            with self.db.transaction() as session:
                session.add(entity)
                session.flush()
                session.add(legal_representative_role(entity.id, account.id))
                self._audit(session, "entity_registered", entity.id, account.id)
                session.flush()
                stored = True
                if along is not None:
                    along(session, entity)
        except IntegrityError:
            if stored:
                raise  # not a duplicate: what came along was refused, and nothing is stored
            return CompanyRegistered(errors={"uscc": "taken"})
        return CompanyRegistered(entity=entity)

    def _move_legal_representative(
        self,
        entity: LegalEntity,
        account: Account,
        reference: str | None,
        along: AlongWithCompany | None,
    ) -> str | None:
        with self.db.transaction() as session:
            old = session.scalar(
                select(EntityRole).where(
                    EntityRole.entity_id == entity.id, EntityRole.role == "legal_representative"
                )
            )
            previous = old.account_id if old is not None else None
            if old is not None:
                session.delete(old)
                session.flush()  # before the new one: one legal representative at a time
                self._revoke(session, old.id, "legal_representative_changed")
            mine = session.scalar(
                select(EntityRole).where(
                    EntityRole.entity_id == entity.id, EntityRole.account_id == account.id
                )
            )
            if mine is not None:  # an administrator becomes the legal representative
                session.delete(mine)
                self._revoke(session, mine.id, "role_changed")
                session.flush()
            session.add(legal_representative_role(entity.id, account.id))
            try:
                session.flush()
            except IntegrityError as error:
                raise _LegalRepresentativeTaken() from error
            row = session.get(LegalEntity, entity.id)
            assert row is not None
            row.registry_reference = reference
            row.verified_at = utcnow()
            row.status = "active" if row.status == "cancelled" else row.status
            self._audit(
                session,
                "legal_representative_changed",
                entity.id,
                account.id,
                {"previous": previous},
            )
            if along is not None:
                along(session, row)
        return previous

    def set_entity_status(self, entity: LegalEntity, status: str, actor: str, reason: str) -> None:
        """The authority suspends or reinstates a company; a suspension ends every company
        login at once. The legal representative cancels with ``cancelled``."""
        if status not in {"active", "suspended", "cancelled"}:
            raise EntityError("unknown_status")
        with self.db.transaction() as session:
            row = session.get(LegalEntity, entity.id)
            assert row is not None
            row.status = status
            if status != "active":
                self._end_logins(session, Grant.entity_id == entity.id, f"entity_{status}")
            self._audit(session, f"entity_{status}", entity.id, actor, {"reason": reason})

    def cancel(self, entity: LegalEntity, by: Account) -> None:
        """The legal representative cancels the legal-person account: every company login
        ends, every handler grant is revoked and every administrator removed. The record of
        the company (and its trail) stays; registering the USCC again reopens it."""
        mine = self.role(entity.id, by.id)
        if mine is None or mine.role != "legal_representative":
            raise EntityError("not_legal_representative")
        if entity.status == "cancelled":
            raise EntityError("closed")
        with self.db.transaction() as session:
            row = session.get(LegalEntity, entity.id)
            assert row is not None
            row.status = "cancelled"
            self._end_logins(session, Grant.entity_id == entity.id, "entity_cancelled")
            session.execute(
                update(HandlerGrant)
                .where(
                    HandlerGrant.entity_id == entity.id,
                    HandlerGrant.status.in_(("pending", "active", "suspended")),
                )
                .values(status="revoked")
            )
            for role in session.scalars(
                select(EntityRole).where(
                    EntityRole.entity_id == entity.id, EntityRole.role == "administrator"
                )
            ):
                session.delete(role)
            self._audit(session, "entity_cancelled", entity.id, by.id)
