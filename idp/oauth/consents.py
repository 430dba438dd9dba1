"""Remembered claim-release consents (PIPL articles 14, 28, 29; the policy of when to ask is in
``idp.oauth.consent``).

A consent is remembered per account and portal with the scopes granted and the claims the
person was asked about; sensitive claims are decided anew each time they are asked about (a
tick grants, no tick refuses). Withdrawing a consent revokes every grant of that portal for the
account, so its refresh and access tokens stop at once.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select

from idp.identity.audit import Audit
from idp.models import Consent
from idp.models.base import Database
from idp.oauth import claims as claims_module
from idp.oauth.authorize import AuthorizationRequest
from idp.oauth.consent import ClaimRequest
from idp.oauth.tokens import TokenService


class Consents:
    def __init__(
        self, db: Database, tokens: TokenService, audit: Audit, sensitive_claims: frozenset[str]
    ) -> None:
        self._db = db
        self._tokens = tokens
        self._audit = audit
        self.sensitive_claims = sensitive_claims

    def claim_request(self, request: AuthorizationRequest) -> ClaimRequest:
        """What the request asks to release, split into ordinary and sensitive claims."""
        return ClaimRequest.split(
            request.scopes,
            claims_module.requested_claims(request.scopes, request.claims),
            self.sensitive_claims,
        )

    def find(self, account_id: str, client_id: str) -> Consent | None:
        return self._db.session.scalar(
            select(Consent).where(Consent.account_id == account_id, Consent.client_id == client_id)
        )

    def record(
        self,
        account_id: str,
        client_id: str,
        request: ClaimRequest,
        ticked_sensitive: Iterable[str],
    ) -> None:
        """Remember what was asked and decided."""
        ticked = {c for c in ticked_sensitive if c in request.sensitive}
        with self._db.transaction() as session:
            consent = session.scalar(
                select(Consent).where(
                    Consent.account_id == account_id, Consent.client_id == client_id
                )
            )
            if consent is None:
                consent = Consent(
                    account_id=account_id,
                    client_id=client_id,
                    scopes=[],
                    claims_asked=[],
                    sensitive_claims=[],
                )
                session.add(consent)
            consent.scopes = sorted(set(consent.scopes) | set(request.scopes))
            consent.claims_asked = sorted(set(consent.claims_asked) | set(request.all_claims))
            kept = set(consent.sensitive_claims) - set(request.sensitive)
            consent.sensitive_claims = sorted(kept | ticked)

    def withdraw(self, account_id: str, client_id: str) -> bool:
        """Forget the consent and revoke every grant of this portal for this account."""
        with self._db.transaction() as session:
            consent = session.scalar(
                select(Consent).where(
                    Consent.account_id == account_id, Consent.client_id == client_id
                )
            )
            if consent is None:
                return False
            session.delete(consent)
        self._tokens.revoke_grants_for(account_id, client_id, "consent_withdrawn")
        self._audit(
            "consent_withdrawn", actor=account_id, account_id=account_id, client_id=client_id
        )
        return True

    def of_account(self, account_id: str) -> list[Consent]:
        """The portals this account consented to, most recently decided first."""
        return list(
            self._db.session.scalars(
                select(Consent)
                .where(Consent.account_id == account_id)
                .order_by(Consent.updated_at.desc())
            )
        )
