"""Logins that act for a company (scope ``entity``; legal-person agreement, graded and
classified handler authorisation; docs/legal-persons.md).

- The choice offered: every company where the person holds a role or an active, confirmed
  handler grant, each with the delegation that fits the matters the login is for (the classes
  the request names, else those the portal serves) in the portal's region; unfit companies are
  listed with the reason. A company whose legal representative has not accepted the current
  legal-person agreement is not usable.
- At every refresh the role or grant must still hold: a narrower one narrows the login, none
  revokes it (``invalid_grant``).
"""

from __future__ import annotations

from idp.identity.agreements import Agreements
from idp.identity.entities import Entities, Option
from idp.models import Account, Client, Grant
from idp.oauth.authorize import AuthorizationRequest
from idp.oauth.tokens import TokenService


def required_matters(request: AuthorizationRequest, client: Client) -> list[str]:
    """What a company login is for: the classes the request names, else those the portal
    serves."""
    return list(request.matters or client.matters or [])


class CompanyLogins:
    def __init__(self, entities: Entities, agreements: Agreements, tokens: TokenService) -> None:
        self._entities = entities
        self._agreements = agreements
        self._tokens = tokens

    def options(
        self, request: AuthorizationRequest, client: Client, account: Account
    ) -> list[Option]:
        entity_ids = {role.entity_id for role in self._entities.roles_of(account.id)}
        entity_ids |= {grant.entity_id for grant in self._entities.grants_of(account.id)}
        pending = {
            entity_id
            for entity_id in entity_ids
            if (requirement := self._agreements.pending(entity_id, "legal_person"))
            and requirement.mode == "accept"
        }
        return self._entities.options(
            account,
            required_matters(request, client),
            client.region,
            pending_agreement=pending,
        )

    def usable(
        self, request: AuthorizationRequest, client: Client, account: Account, entity_id: str
    ) -> Option | None:
        """The option to act for ``entity_id``, if the person may (still) do so."""
        return next(
            (
                option
                for option in self.options(request, client, account)
                if option.entity.id == entity_id and option.delegation
            ),
            None,
        )

    def recheck(self, grant: Grant) -> bool:
        """At every refresh of a company login: the role or handler grant must still hold."""
        current = self._entities.current(grant)
        if current is None:
            self._tokens.revoke_grant(grant.id, "delegation_ended")
            return False
        snapshot = {**(grant.delegation or {}), **current.claim()}
        if snapshot != grant.delegation:
            self._tokens.set_delegation(grant, snapshot)
        return True
