"""Who acts for a company: administrators appointed by the legal representative, and handler
grants given by the legal representative or an administrator.

Legal-person agreement: only the legal representative appoints administrators (at most
``max_administrators``), each with a scope; the legal representative and the administrators
authorise handlers within their own scope, graded and classified (``idp.identity.delegation``,
分级分类授权管理), limited in time, and usable only once the handler confirmed the grant. An
administrator manages only the handlers within their own scope. Suspending or revoking a grant,
or removing an administrator, ends the logins made under it at once.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta, tzinfo

from sqlalchemy.orm import Session

from idp.identity import delegation, levels
from idp.identity.delegation import Scope
from idp.identity.entities.directory import EntityDirectory
from idp.identity.entities.rules import (
    MEMBER_LEVEL,
    EntityError,
    scope_details,
    scope_of_grant,
)
from idp.models import Account, EntityRole, HandlerGrant, LegalEntity
from idp.models.base import utcnow


class Appointments(EntityDirectory):
    max_administrators: int
    grant_days: int
    local_zone: tzinfo

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
            if self.administrator_count(entity.id) >= self.max_administrators:
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
                {"role_id": role.id, "member": member_id, **scope_details(scope)},
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
        """The end of the day ``grant_days`` from now in the authority's zone: validity runs by
        whole days, as the forms show and take it (a last day, valid to its end)."""
        last_day = (utcnow() + timedelta(days=self.grant_days)).astimezone(self.local_zone).date()
        end = datetime.combine(last_day + timedelta(days=1), time(0), tzinfo=self.local_zone)
        return end.astimezone(UTC)

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
                {"grant_id": grant.id, "handler": handler.id, **scope_details(scope)},
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
            before = scope_details(scope_of_grant(row))
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
                {"grant_id": grant.id, "before": before, "after": scope_details(scope)},
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
