"""Claim-release consent: when to ask, and what may be released (PIPL articles 14, 28, 29).

- The consent page lists what the portal asked for. Sensitive claims each need their own tick;
  refusing them still lets the login go on with the ordinary claims.
- A consent is remembered per account and portal, with the claims the person was asked about:
  a claim never asked about (or a new scope) asks again, and ``prompt=consent`` always asks.
- A *trusted* portal (a government portal of the same authority) skips the page for ordinary
  claims, never for sensitive ones the person has not decided on. What it received so is
  recorded as an *implied* consent (``idp.oauth.consents.Consents.imply``), listed and
  withdrawable like a given one (PIPL article 15). An implied consent counts only while the
  portal is trusted: once the flag is off, the next login asks.
- After a withdrawal the portal asks again at the next login, trusted or not.
- A login asking for the scope ``materials`` always shows the page, trusted portal or not: the
  person picks the materials for this login there (none is fine), and nothing is remembered.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from idp.models import Consent
from idp.oauth.claims import MATERIALS_SCOPE


@dataclass(frozen=True)
class ClaimRequest:
    """What one authorization request asks to release, split by sensitivity."""

    scopes: tuple[str, ...]
    ordinary: tuple[str, ...]
    sensitive: tuple[str, ...]

    @classmethod
    def split(
        cls, scopes: Collection[str], claims: Collection[str], sensitive: Collection[str]
    ) -> ClaimRequest:
        return cls(
            scopes=tuple(scopes),
            ordinary=tuple(c for c in claims if c not in sensitive),
            sensitive=tuple(c for c in claims if c in sensitive),
        )

    @property
    def all_claims(self) -> tuple[str, ...]:
        return (*self.ordinary, *self.sensitive)


def needs_page(
    request: ClaimRequest, consent: Consent | None, *, trusted: bool, forced: bool
) -> bool:
    if forced or MATERIALS_SCOPE in request.scopes:
        return True
    if consent is not None and consent.implied and not trusted:
        consent = None  # the implication ended with the trust
    if consent is not None and consent.withdrawn:
        return True
    asked = set(consent.claims_asked) if consent else set()
    undecided_sensitive = set(request.sensitive) - asked
    if trusted:
        return bool(undecided_sensitive)
    if consent is None:
        return True
    return not consent.covers(list(request.scopes), list(request.all_claims))


def implication_needed(request: ClaimRequest, consent: Consent | None, *, trusted: bool) -> bool:
    """Whether issuing to a trusted portal without the page adds to what is on record."""
    if not trusted:
        return False
    if consent is None or consent.withdrawn:
        return True
    return not consent.covers(list(request.scopes), list(request.all_claims))


def released_claims(request: ClaimRequest, consent: Consent | None) -> list[str]:
    """Ordinary claims asked for, plus the sensitive ones the person ticked."""
    ticked = set(consent.sensitive_claims) if consent else set()
    return [*request.ordinary, *(c for c in request.sensitive if c in ticked)]
