"""Legal persons: registration by the legal representative, roles, handler grants, and acting.

Legal-person agreement: the legal representative (法定代表人) registers the company and holds
every right; the administrators (授权人) they appoint manage handlers (经办人) within their own
scope; a handler's grant is graded and classified (``idp.identity.delegation``), limited in time,
and usable only once the handler confirmed it. Every change is audited in the company's trail,
in the same transaction. Suspending or revoking a grant, removing a role or suspending the
company revokes at once every OAuth grant issued under it (their tokens stop working).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from idp.identity import delegation, documents, levels
from idp.identity.delegation import FULL_SCOPE, Delegation, Scope
from idp.identity.people import People
from idp.identity.verifiers import Result, Verifier
from idp.models import (
    Account,
    AuditEvent,
    EntityRole,
    Grant,
    HandlerGrant,
    LegalEntity,
    MatterClass,
)
from idp.models.base import Database, utcnow

ENTITY_TYPES = (
    "limited_company",
    "joint_stock_company",
    "partnership",
    "individual_business",
    "sole_proprietorship",
    "public_institution",
    "social_organisation",
    "other",
)
REGISTRATION_LEVEL = "L3"  # a legal representative registers at L3 or above
MEMBER_LEVEL = "L2"  # administrators and handlers are natural persons at L2 or above
MAX_NAME_LENGTH = 128


class EntityError(Exception):
    """A refused change: ``code`` names the reason, ``field`` the form field concerned."""

    def __init__(self, code: str, field: str = "form") -> None:
        super().__init__(code)
        self.code = code
        self.field = field


@dataclass
class Option:
    """A way the person may act in a login: for a company, with the delegation that fits."""

    entity: LegalEntity
    delegation: Delegation | None
    reason: str | None = None  # why it cannot be chosen (no grant fits, pending agreement)


@dataclass
class Registration:
    entity: LegalEntity | None = None
    errors: dict[str, str] = field(default_factory=dict)
    moved_from: str | None = None  # the previous legal representative, when the role moved


def scope_of_role(role: EntityRole) -> Scope:
    if role.role == "legal_representative":
        return FULL_SCOPE
    return Scope(role.grade, tuple(role.matters), tuple(role.regions))


def scope_of_grant(grant: HandlerGrant) -> Scope:
    return Scope(grant.grade, tuple(grant.matters), tuple(grant.regions))


class Entities:
    def __init__(
        self,
        db: Database,
        people: People,
        verifier: Verifier,
        *,
        max_administrators: int,
        grant_days: int,
    ) -> None:
        self.db = db
        self.people = people
        self.verifier = verifier
        self.max_administrators = max_administrators
        self.grant_days = grant_days

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

    # -- reading -----------------------------------------------------------------------------
    def get(self, entity_id: str) -> LegalEntity | None:
        return self.db.session.get(LegalEntity, entity_id) if entity_id else None

    def by_uscc(self, uscc: str) -> LegalEntity | None:
        return self.db.session.scalar(select(LegalEntity).where(LegalEntity.uscc == uscc))

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

    def roles(self, entity_id: str) -> list[EntityRole]:
        return list(
            self.db.session.scalars(
                select(EntityRole)
                .where(EntityRole.entity_id == entity_id)
                .order_by(EntityRole.created_at)
            )
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

    def manager_scope(self, entity_id: str, account_id: str) -> Scope | None:
        """The scope within which this person manages the company's handlers, if any."""
        role = self.role(entity_id, account_id)
        return scope_of_role(role) if role is not None else None

    def trail(self, entity_id: str, limit: int = 200) -> list[AuditEvent]:
        return list(
            self.db.session.scalars(
                select(AuditEvent)
                .where(AuditEvent.entity_id == entity_id)
                .order_by(AuditEvent.created_at.desc())
                .limit(limit)
            )
        )

    # -- registration ------------------------------------------------------------------------
    def register(
        self, account: Account, *, uscc: str, name: str, entity_type: str, region: str
    ) -> Registration:
        """A natural person at L3 or above registers a company as its legal representative.

        The market regulation registry must confirm the USCC, the name and this person as the
        legal representative, and that the company is active. One account per USCC: when the
        company is registered already and the registry now names this person, the legal
        representative role moves to them (a change of legal representative).
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
            return Registration(errors=errors)
        existing = self.by_uscc(uscc)
        if existing is not None and existing.status != "cancelled":
            current = self.role(existing.id, account.id)
            if current is not None and current.role == "legal_representative":
                return Registration(errors={"uscc": "taken"})
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
            return Registration(errors={"form": "unavailable"})
        if verdict.result == Result.NO_MATCH:
            reason = (
                "inactive" if verdict.detail.get("reason") == "inactive" else "registry_mismatch"
            )
            return Registration(errors={"uscc": reason})
        if existing is not None:
            previous = self._move_legal_representative(existing, account, verdict.reference)
            return Registration(entity=existing, moved_from=previous)
        entity = LegalEntity(
            uscc=uscc,
            name=name,
            entity_type=str(verdict.detail.get("entity_type") or entity_type),
            region=str(verdict.detail.get("region") or region),
            registry_reference=verdict.reference,
            verified_at=verdict.checked_at,
        )
        try:
            with self.db.transaction() as session:
                session.add(entity)
                session.flush()
                session.add(_legal_representative(entity.id, account.id))
                self._audit(session, "entity_registered", entity.id, account.id)
        except IntegrityError:
            return Registration(errors={"uscc": "taken"})
        return Registration(entity=entity)

    def _move_legal_representative(
        self, entity: LegalEntity, account: Account, reference: str | None
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
            session.add(_legal_representative(entity.id, account.id))
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
        return previous

    # -- roles -------------------------------------------------------------------------------
    def _member(self, session: Session, account_id: str) -> Account:
        account = session.get(Account, account_id)
        if account is None or not account.active:
            raise EntityError("no_account", "member")
        if account.user_type != "natural_person" or not levels.at_least(
            account.verification_level, MEMBER_LEVEL
        ):
            raise EntityError("member_level", "member")
        return account

    def appoint_administrator(
        self, entity: LegalEntity, by: Account, member_id: str, scope: Scope
    ) -> EntityRole:
        """Only the legal representative appoints administrators, at most the configured
        number, each with a scope."""
        self._check_scope_fields(scope)
        with self.db.transaction() as session:
            mine = self.role(entity.id, by.id)
            if mine is None or mine.role != "legal_representative":
                raise EntityError("not_legal_representative")
            self._member(session, member_id)
            count = session.scalar(
                select(func.count())
                .select_from(EntityRole)
                .where(EntityRole.entity_id == entity.id, EntityRole.role == "administrator")
            )
            if (count or 0) >= self.max_administrators:
                raise EntityError("too_many_administrators")
            if self.role(entity.id, member_id) is not None:
                raise EntityError("already_member", "member")
            role = EntityRole(
                entity_id=entity.id,
                account_id=member_id,
                role="administrator",
                grade=scope.grade,
                matters=list(scope.matters),
                regions=list(scope.regions),
                appointed_by=by.id,
            )
            session.add(role)
            session.flush()
            self._audit(
                session,
                "administrator_appointed",
                entity.id,
                by.id,
                {"role_id": role.id, "member": member_id, **_scope_details(scope)},
            )
        return role

    def remove_role(self, entity: LegalEntity, by: Account, role_id: str) -> None:
        """The legal representative removes an administrator; their company logins end."""
        with self.db.transaction() as session:
            mine = self.role(entity.id, by.id)
            role = session.get(EntityRole, role_id)
            if mine is None or mine.role != "legal_representative":
                raise EntityError("not_legal_representative")
            if role is None or role.entity_id != entity.id or role.role != "administrator":
                raise EntityError("no_role")
            session.delete(role)
            self._revoke(session, role.id, "role_removed")
            self._audit(
                session, "administrator_removed", entity.id, by.id, {"member": role.account_id}
            )

    # -- handler grants ----------------------------------------------------------------------
    def _check_scope_fields(self, scope: Scope) -> None:
        errors = delegation.validate_scope(
            scope.grade, scope.matters, scope.regions, self.known_matters()
        )
        if errors:
            field_name, code = next(iter(errors.items()))
            raise EntityError(code, field_name)

    def _manager(self, entity: LegalEntity, by: Account) -> Scope:
        scope = self.manager_scope(entity.id, by.id)
        if scope is None:
            raise EntityError("not_manager")
        if not entity.active:
            raise EntityError("entity_inactive")
        return scope

    def _managing(self, grant: HandlerGrant, by: Account) -> Scope:
        """The manager's scope, which must cover the grant as it stands: an administrator
        manages only the handlers within their own scope (legal-person agreement)."""
        own = self._manager(grant.entity, by)
        if not own.includes(scope_of_grant(grant)):
            raise EntityError("beyond_own_scope")
        return own

    def default_until(self) -> datetime:
        return utcnow() + timedelta(days=self.grant_days)

    def create_grant(
        self,
        entity: LegalEntity,
        by: Account,
        handler_id: str,
        scope: Scope,
        valid_until: datetime | None = None,
    ) -> HandlerGrant:
        """A grant no wider than the granting person's own scope, pending the handler's
        confirmation (the view has already checked the granting person's SMS code)."""
        own = self._manager(entity, by)
        self._check_scope_fields(scope)
        if not own.includes(scope):
            raise EntityError("beyond_own_scope")
        until = valid_until or self.default_until()
        if until <= utcnow():
            raise EntityError("past", "valid_until")
        with self.db.transaction() as session:
            handler = self._member(session, handler_id)
            role = self.role(entity.id, handler.id)
            if role is not None and role.role == "legal_representative":
                raise EntityError("already_member", "member")
            grant = HandlerGrant(
                entity_id=entity.id,
                account_id=handler.id,
                grade=scope.grade,
                matters=list(scope.matters),
                regions=list(scope.regions),
                valid_until=until,
                status="pending",
                granted_by=by.id,
            )
            session.add(grant)
            session.flush()
            self._audit(
                session,
                "handler_grant_created",
                entity.id,
                by.id,
                {"grant_id": grant.id, "handler": handler.id, **_scope_details(scope)},
            )
        return grant

    def widens(self, grant: HandlerGrant, scope: Scope, valid_until: datetime | None) -> bool:
        """An edit that gives more than the grant had: needs the granting person's SMS code."""
        longer = valid_until is not None and valid_until > grant.valid_until
        return longer or not scope_of_grant(grant).includes(scope)

    def edit_grant(
        self,
        grant: HandlerGrant,
        by: Account,
        scope: Scope,
        valid_until: datetime | None = None,
    ) -> None:
        """Change the scope (within the editor's own) or the end of validity. Narrowing takes
        effect at once: logins under the grant are narrowed at their next refresh."""
        own = self._managing(grant, by)
        self._check_scope_fields(scope)
        if not own.includes(scope):
            raise EntityError("beyond_own_scope")
        if grant.status in {"revoked", "declined"}:
            raise EntityError("closed")
        with self.db.transaction() as session:
            row = session.get(HandlerGrant, grant.id)
            assert row is not None
            before = _scope_details(scope_of_grant(row))
            row.grade, row.matters, row.regions = (
                scope.grade,
                list(scope.matters),
                list(scope.regions),
            )
            if valid_until is not None:
                if valid_until <= utcnow():
                    raise EntityError("past", "valid_until")
                row.valid_until = valid_until
            self._audit(
                session,
                "handler_grant_edited",
                grant.entity_id,
                by.id,
                {"grant_id": grant.id, "before": before, "after": _scope_details(scope)},
            )

    def renew(self, grant: HandlerGrant, by: Account) -> None:
        """Another period of validity from now (the default length)."""
        self._managing(grant, by)
        if grant.status in {"revoked", "declined"}:
            raise EntityError("closed")
        with self.db.transaction() as session:
            row = session.get(HandlerGrant, grant.id)
            assert row is not None
            row.valid_until = self.default_until()
            self._audit(
                session,
                "handler_grant_renewed",
                grant.entity_id,
                by.id,
                {"grant_id": grant.id, "valid_until": row.valid_until.isoformat()},
            )

    def set_status(self, grant: HandlerGrant, by: Account, status: str) -> None:
        """Suspend, resume or revoke; suspending and revoking end the handler's company logins
        at once."""
        if status not in {"suspended", "active", "revoked"}:
            raise EntityError("unknown_status")
        self._managing(grant, by)
        allowed_from = {"suspended": {"active", "pending"}, "active": {"suspended"}}
        if grant.status == "revoked" or (
            status in allowed_from and grant.status not in allowed_from[status]
        ):
            raise EntityError("closed")
        with self.db.transaction() as session:
            row = session.get(HandlerGrant, grant.id)
            assert row is not None
            row.status = status
            if status != "active":
                self._revoke(session, grant.id, f"handler_grant_{status}")
            self._audit(
                session, f"handler_grant_{status}", grant.entity_id, by.id, {"grant_id": grant.id}
            )

    def respond(self, grant: HandlerGrant, handler: Account, accept: bool) -> None:
        """The handler confirms (the grant becomes usable) or declines a pending grant."""
        if grant.account_id != handler.id or grant.status != "pending":
            raise EntityError("closed")
        with self.db.transaction() as session:
            row = session.get(HandlerGrant, grant.id)
            assert row is not None
            row.status = "active" if accept else "declined"
            row.confirmed_at = utcnow() if accept else None
            self._audit(
                session,
                "handler_grant_confirmed" if accept else "handler_grant_declined",
                grant.entity_id,
                handler.id,
                {"grant_id": grant.id},
            )

    # -- the company itself ------------------------------------------------------------------
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
                session.execute(
                    update(Grant)
                    .where(Grant.entity_id == entity.id, Grant.revoked_at.is_(None))
                    .values(revoked_at=utcnow(), revoked_reason=f"entity_{status}")
                )
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
            session.execute(
                update(Grant)
                .where(Grant.entity_id == entity.id, Grant.revoked_at.is_(None))
                .values(revoked_at=utcnow(), revoked_reason="entity_cancelled")
            )
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

    # -- acting for a company in a login -----------------------------------------------------
    def options(
        self,
        account: Account,
        required_matters: list[str],
        region: str | None,
        *,
        pending_agreement: set[str] | None = None,
    ) -> list[Option]:
        """The companies this person may act for in this login, each with the delegation
        that fits what the portal serves or asks for; a company where nothing fits is listed
        with the reason. The legal representative and administrators act within their role's
        scope; handlers within an active, confirmed, unexpired grant."""
        now = utcnow()
        found: dict[str, Option] = {}
        for role in self.roles_of(account.id):
            entity = role.entity
            scope = scope_of_role(role)
            usable = entity.active and scope.serves(required_matters, region)
            role_delegation = Delegation(role.role, scope, None, role.id)
            found[entity.id] = Option(
                entity,
                role_delegation if usable else None,
                None if usable else ("entity_inactive" if not entity.active else "not_covered"),
            )
        for grant in self.db.session.scalars(
            select(HandlerGrant).where(
                HandlerGrant.account_id == account.id,
                or_(HandlerGrant.status == "active", HandlerGrant.status == "pending"),
            )
        ):
            entity = grant.entity
            current = found.get(entity.id)
            if current is not None and current.delegation is not None:
                continue
            if grant.status == "pending":
                reason = "pending"
            elif not grant.usable(now):
                reason = "entity_inactive" if not entity.active else "expired"
            elif not scope_of_grant(grant).serves(required_matters, region):
                reason = "not_covered"
            else:
                reason = None
            option = Option(
                entity,
                None
                if reason
                else Delegation("handler", scope_of_grant(grant), grant.valid_until, grant.id),
                reason,
            )
            if current is None or option.delegation is not None:
                found[entity.id] = option
        qualified = levels.at_least(account.verification_level, MEMBER_LEVEL)
        for option in found.values():
            if option.delegation is not None and not qualified:
                # A corrected identity drops the level: nobody below L2 acts for a company.
                option.delegation, option.reason = None, "level"
            if option.delegation is not None and option.entity.id in (pending_agreement or set()):
                option.delegation, option.reason = None, "agreement"
        return sorted(found.values(), key=lambda o: (o.delegation is None, o.entity.name))

    def current(self, grant: Grant) -> Delegation | None:
        """Re-check a company login's delegation (at refresh): the role or handler grant must
        still hold and still cover what was granted; a narrower one narrows the login."""
        if grant.entity_id is None or grant.delegation is None or grant.delegation_source is None:
            return None
        entity = self.get(grant.entity_id)
        if entity is None or not entity.active:
            return None
        if not levels.at_least(grant.account.verification_level, MEMBER_LEVEL):
            return None
        matters = [m for m in grant.delegation.get("requested_matters", [])]
        region = grant.delegation.get("region")
        role = self.db.session.get(EntityRole, grant.delegation_source)
        if role is not None:
            if role.account_id != grant.account_id or role.entity_id != entity.id:
                return None
            scope = scope_of_role(role)
            if not scope.serves(matters, region):
                return None
            return Delegation(role.role, scope, None, role.id)
        handler_grant = self.db.session.get(HandlerGrant, grant.delegation_source)
        if handler_grant is None or handler_grant.account_id != grant.account_id:
            return None
        if not handler_grant.usable(utcnow()):
            return None
        scope = scope_of_grant(handler_grant)
        if not scope.serves(matters, region):
            return None
        return Delegation("handler", scope, handler_grant.valid_until, handler_grant.id)

    # -- helpers -----------------------------------------------------------------------------
    @staticmethod
    def _revoke(session: Session, source: str, reason: str) -> None:
        session.execute(
            update(Grant)
            .where(Grant.delegation_source == source, Grant.revoked_at.is_(None))
            .values(revoked_at=utcnow(), revoked_reason=reason[:64])
        )

    @staticmethod
    def _audit(
        session: Session,
        action: str,
        entity_id: str,
        actor: str,
        details: dict[str, Any] | None = None,
    ) -> None:
        session.add(
            AuditEvent(
                action=action,
                actor=actor,
                account_id=actor if actor != "cli" else None,
                entity_id=entity_id,
                details=details or {},
            )
        )


def _legal_representative(entity_id: str, account_id: str) -> EntityRole:
    """The legal representative's role: every right (grade ``sign``, every class, region)."""
    return EntityRole(
        entity_id=entity_id,
        account_id=account_id,
        role="legal_representative",
        grade=FULL_SCOPE.grade,
        matters=list(FULL_SCOPE.matters),
        regions=list(FULL_SCOPE.regions),
    )


def _scope_details(scope: Scope) -> dict[str, Any]:
    return {"grade": scope.grade, "matters": list(scope.matters), "regions": list(scope.regions)}
