"""Acting for a company in a login: which companies a person may choose, and whether a company
login still holds at refresh.

Legal-person agreement: the legal representative and the administrators act within their
role's scope; a handler within an active, confirmed, unexpired grant; nobody below L2 acts for
a company, and nobody acts for a company whose legal representative has not accepted the
current material legal-person agreement.
"""

from __future__ import annotations

from sqlalchemy import or_, select

from idp.identity import levels
from idp.identity.delegation import Delegation
from idp.identity.entities.directory import EntityDirectory
from idp.identity.entities.rules import MEMBER_LEVEL, Option, scope_of_grant, scope_of_role
from idp.models import Account, EntityRole, Grant, HandlerGrant
from idp.models.base import utcnow


class CompanyActing(EntityDirectory):
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
