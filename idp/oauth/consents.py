"""Remembered claim-release consents (PIPL articles 14, 28, 29; the policy of when to ask is in
``idp.oauth.consent``).

A consent is remembered per account and portal with the scopes granted and the claims the
person was asked about; sensitive claims are decided anew each time they are asked about (a
tick grants, no tick refuses). A trusted portal that skipped the page leaves an *implied*
consent (``basis`` ``implied``), shown and withdrawn like a given one (PIPL article 15).
Withdrawing a consent revokes every grant of that portal for the account, so its refresh and
access tokens stop at once; the row stays as ``withdrawn`` without scopes or claims, so that even a
trusted portal asks again at the next login.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from idp.identity.audit import Audit
from idp.models import Consent
from idp.models.base import Database
from idp.models.consent import GIVEN, IMPLIED, WITHDRAWN
from idp.oauth import claims as claims_module
from idp.oauth.authorize import AuthorizationRequest
from idp.oauth.consent import ClaimRequest
from idp.oauth.tokens import TokenService
from idp.observability import metrics


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
        """Remember what was asked and decided on the consent page."""
        ticked = {c for c in ticked_sensitive if c in request.sensitive}
        with self._db.transaction() as session:
            consent = self._for_update(session, account_id, client_id)
            consent.basis = GIVEN
            consent.scopes = sorted(set(consent.scopes) | set(request.scopes))
            consent.claims_asked = sorted(set(consent.claims_asked) | set(request.all_claims))
            kept = set(consent.sensitive_claims) - set(request.sensitive)
            consent.sensitive_claims = sorted(kept | ticked)
        metrics.count_consent("given")

    def imply(self, account_id: str, client_id: str, request: ClaimRequest) -> None:
        """Record what a trusted portal receives without the consent page (PIPL article 15:
        the person must be able to see and withdraw it). Sensitive claims never come this way:
        the page asks for them even for a trusted portal."""
        for attempt in range(2):
            try:
                with self._db.transaction() as session:
                    consent = self._for_update(session, account_id, client_id)
                    consent.basis = IMPLIED
                    consent.scopes = sorted(set(consent.scopes) | set(request.scopes))
                    consent.claims_asked = sorted(
                        set(consent.claims_asked) | set(request.all_claims)
                    )
                break
            except IntegrityError:
                # Two logins to the same portal at once both found no row: the second one
                # extends the row the first inserted.
                if attempt:
                    raise
        self._audit(
            "consent_implied",
            actor=account_id,
            account_id=account_id,
            client_id=client_id,
            details={"scopes": list(request.scopes), "claims": list(request.all_claims)},
        )

    @staticmethod
    def _for_update(session: Session, account_id: str, client_id: str) -> Consent:
        consent = session.scalar(
            select(Consent).where(Consent.account_id == account_id, Consent.client_id == client_id)
        )
        if consent is None or consent.withdrawn:
            if consent is None:
                consent = Consent(account_id=account_id, client_id=client_id)
                session.add(consent)
            consent.scopes, consent.claims_asked, consent.sensitive_claims = [], [], []
        return consent

    def withdraw(self, account_id: str, client_id: str) -> bool:
        """Forget what the consent allowed and revoke every grant of this portal for this
        account. The row stays, empty, as ``withdrawn``: the portal asks at the next login."""
        with self._db.transaction() as session:
            consent = session.scalar(
                select(Consent).where(
                    Consent.account_id == account_id, Consent.client_id == client_id
                )
            )
            if consent is None or consent.withdrawn:
                return False
            implied = consent.implied
            consent.basis = WITHDRAWN
            consent.scopes, consent.claims_asked, consent.sensitive_claims = [], [], []
        self._tokens.revoke_grants_for(account_id, client_id, "consent_withdrawn")
        self._audit(
            "consent_withdrawn",
            actor=account_id,
            account_id=account_id,
            client_id=client_id,
            details={"implied": implied},
        )
        metrics.count_consent("withdrawn")
        return True

    def of_account(self, account_id: str) -> list[Consent]:
        """The portals this account consented to (given or implied), most recently decided
        first."""
        return list(
            self._db.session.scalars(
                select(Consent)
                .where(Consent.account_id == account_id, Consent.basis != WITHDRAWN)
                .order_by(Consent.updated_at.desc())
            )
        )
