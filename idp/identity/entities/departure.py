"""What becomes of a person's company roles and handler grants when they cancel their own
account (docs/legal-persons.md, "When a member cancels their account").

Legal-person agreement clause 6: the account of a legal person is operated by its legal
representative, its authorisers (administrators) and its handlers, and the legal person answers
for what they do; clause 4(2): it keeps the legal representative, authorisers and handlers up
to date; clause 8: only the legal representative cancels the legal-person account.

- The legal representative of a company that is not cancelled cannot cancel their personal
  account (the company would be left without anyone who answers for it): they hand over first
  (a change of legal representative, by the market regulation registry) or cancel the company.
- An administrator's role is removed and the company logins made under it end. The handler
  grants they gave stay: they were given in the company's name, within the scope the legal
  representative gave the administrator, and the company answers for them (clause 6), exactly
  as when the legal representative removes an administrator. The legal representative reviews
  them; the trail says how many were left.
- A handler's grants (pending, active or suspended) are revoked and their company logins end.
  The grant rows stay, under the pseudonymous account id, as the company's record of whom it
  authorised.

Each change is written to the company's trail, in the cancellation's transaction.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from idp.identity.entities.directory import EntityDirectory
from idp.identity.entities.rules import EntityError
from idp.models import EntityRole, HandlerGrant

OPEN_GRANTS = ("pending", "active", "suspended")
REASON = "account_cancelled"


class Departures(EntityDirectory):
    def depart(self, session: Session, account_id: str) -> None:
        """Inside the account's cancellation: its roles removed, its grants revoked, each in
        the company's trail. Refused (``represents_company``) for the legal representative of
        a company that is not cancelled."""
        roles = session.scalars(select(EntityRole).where(EntityRole.account_id == account_id)).all()
        for role in roles:
            if role.role == "legal_representative" and role.entity.status != "cancelled":
                raise EntityError("represents_company")
        for role in roles:
            session.delete(role)
            if role.role != "administrator":
                continue  # the legal representative of a cancelled company
            self._revoke(session, role.id, REASON)
            given = session.scalar(
                select(func.count())
                .select_from(HandlerGrant)
                .where(
                    HandlerGrant.entity_id == role.entity_id,
                    HandlerGrant.granted_by == account_id,
                    HandlerGrant.status.in_(OPEN_GRANTS),
                )
            )
            self._audit(
                session,
                "administrator_removed",
                role.entity_id,
                account_id,
                {"member": account_id, "reason": REASON, "grants_given_kept": given or 0},
            )
        grants = session.scalars(
            select(HandlerGrant).where(
                HandlerGrant.account_id == account_id, HandlerGrant.status.in_(OPEN_GRANTS)
            )
        ).all()
        for grant in grants:
            grant.status = "revoked"
            self._revoke(session, grant.id, REASON)
            self._audit(
                session,
                "handler_grant_revoked",
                grant.entity_id,
                account_id,
                {"grant_id": grant.id, "handler": account_id, "reason": REASON},
            )
