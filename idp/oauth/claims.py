"""Claims: what each scope releases, the ``claims`` request parameter, and building claim sets.

OpenID Connect Core 1.0 section 5.4 (scope values), 5.5 (the ``claims`` parameter) and
5.5.1.1 (``acr`` requested as an essential claim).
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable
from typing import Any, Protocol

from idp.identity.documents import mask_id_number
from idp.identity.people import Profile
from idp.models import Account, Grant, Verification
from idp.models import client as client_model
from idp.oauth.errors import InvalidRequestError, printable
from idp.oauth.subjects import Subjects

# Scope -> the claims it releases. ``openid`` gives ``sub`` only. The full ``id_number`` needs
# its own scope, an administrator's allowance for the portal and the person's separate tick.
SCOPE_CLAIMS: dict[str, tuple[str, ...]] = {
    "openid": ("sub",),
    "profile": (
        "name",
        "preferred_username",
        "updated_at",
        "user_type",
        "verification_level",
        "verified_at",
    ),
    "phone": ("phone_number", "phone_number_verified"),
    "realname": ("id_number_masked",),
    "id_number": ("id_number",),
    # The person's default delivery address (OIDC Core 5.1.1; issue 12, item 4: agreement
    # clause 4(6)), from ``idp.identity.addresses``.
    "address": ("address",),
}
# Scopes that release no claims but grant something else: ``entity`` offers to act for a
# company, whose login then carries the company claims below. ``materials`` asks for the
# person's materials: they choose the items on the consent page, and the portal fetches each
# once through ``/api/materials`` (idp.oauth.materials_api; docs/user-space.md).
MATERIALS_SCOPE = "materials"
OTHER_SCOPES = ("offline_access", "entity", MATERIALS_SCOPE)
# Scopes of a portal's own access token (client credentials, RFC 6749 4.4), never of a login:
# reporting matters and sending messages to people who logged in to the portal (issue 12,
# docs/user-space.md). ``/authorize`` refuses them.
PORTAL_SCOPES = client_model.PORTAL_SCOPES
# The claims of a company login (legal-person issue): which company, who acts, what they may do.
COMPANY_CLAIMS = ("entity", "act", "delegation")
DELEGATION_MEMBERS = ("role", "grade", "matters", "regions", "expires_at")
SCOPES_SUPPORTED = (*SCOPE_CLAIMS, *OTHER_SCOPES, *PORTAL_SCOPES)
# Claims about the authentication event, always allowed in the ID token.
PROTOCOL_CLAIMS = ("iss", "aud", "exp", "iat", "auth_time", "nonce", "acr", "amr", "azp", "sid")
USER_CLAIMS = tuple(dict.fromkeys(c for claims in SCOPE_CLAIMS.values() for c in claims))
# OpenID Connect for Identity Assurance 1.0: verified claims, requested through ``claims`` only.
VERIFIED_CLAIMS = "verified_claims"
CLAIMS_IN_VERIFIED_CLAIMS = ("name", "id_number_masked", "id_number")
CLAIMS_SUPPORTED = tuple(
    dict.fromkeys((*USER_CLAIMS, VERIFIED_CLAIMS, *COMPANY_CLAIMS, *PROTOCOL_CLAIMS, "at_hash"))
)
# Sensitive personal information (PIPL article 28) that may ever be released: each needs its own
# explicit tick on the consent page (article 29). Operators add more with IDP_SENSITIVE_CLAIMS.
BUILTIN_SENSITIVE_CLAIMS = frozenset({"id_number", "bank_card"})
# Sensitive claims a portal may ask for only once an administrator allowed it
# (``Client.allowed_sensitive_claims``): the person's full identity document number.
RESTRICTED_CLAIMS = frozenset({"id_number"})
# Claims that need the person's decrypted personal data.
PERSONAL_CLAIMS = frozenset({"name", "phone_number", "id_number_masked", "id_number"})


def parse_claims_parameter(raw: str | None) -> dict[str, dict[str, Any]] | None:
    """Validate the ``claims`` request parameter (section 5.5) or raise ``invalid_request``."""
    if raw is None or raw == "":
        return None
    try:
        value = json.loads(raw)
    except (ValueError, RecursionError):
        raise InvalidRequestError("The 'claims' parameter is not valid JSON.") from None
    if not isinstance(value, dict):
        raise InvalidRequestError("The 'claims' parameter must be a JSON object.")
    result: dict[str, dict[str, Any]] = {}
    for target, requests in value.items():
        if target not in {"id_token", "userinfo"}:
            continue  # unknown members are ignored (section 5.5)
        if not isinstance(requests, dict):
            raise InvalidRequestError(f"'claims.{target}' must be a JSON object.")
        parsed: dict[str, Any] = {}
        for name, request in requests.items():
            if request is not None and not isinstance(request, dict):
                shown = printable(name)
                raise InvalidRequestError(f"'claims.{target}.{shown}' must be null or an object.")
            if request:
                if "essential" in request and not isinstance(request["essential"], bool):
                    raise InvalidRequestError("'essential' must be a boolean.")
                if "values" in request and not isinstance(request["values"], list):
                    raise InvalidRequestError("'values' must be an array.")
            parsed[name] = request
        result[target] = parsed
    return result


def essential_acr_values(claims: dict[str, dict[str, Any]] | None) -> list[str] | None:
    """The acr values a portal demands (section 5.5.1.1), or None when it demands none."""
    if not claims:
        return None
    for target in ("id_token", "userinfo"):
        request = (claims.get(target) or {}).get("acr")
        if request and request.get("essential"):
            if "values" in request:
                return [str(v) for v in request["values"]]
            if "value" in request:
                return [str(request["value"])]
    return None


def essential_levels(claims: dict[str, dict[str, Any]] | None) -> list[str] | None:
    """The values of an essential ``verification_level`` claim request, or None."""
    for target in ("id_token", "userinfo"):
        request = ((claims or {}).get(target) or {}).get("verification_level")
        if request and request.get("essential"):
            if "values" in request:
                return [str(v) for v in request["values"]]
            if "value" in request:
                return [str(request["value"])]
    return None


def verified_claims_request(requested: dict[str, Any] | None) -> list[str] | None:
    """The claim names inside a ``verified_claims`` request (OIDC4IDA section 5), or None."""
    request = (requested or {}).get(VERIFIED_CLAIMS)
    if not isinstance(request, dict):
        return None
    inner = request.get("claims")
    if not isinstance(inner, dict):
        return []
    return [name for name in inner if name in CLAIMS_IN_VERIFIED_CLAIMS]


class ClaimSource(Protocol):
    """Where claim values come from (``idp.identity.people.People``)."""

    def profile(self, account: Account) -> Profile: ...

    def registry_evidence(self, account: Account) -> Verification | None: ...


class AddressSource(Protocol):
    """Where the ``address`` claim comes from (``idp.identity.addresses.Addresses``): the
    default delivery address, or None."""

    def address_claim(self, account: Account) -> dict[str, str] | None: ...


def account_claims(account: Account, profile: Profile | None) -> dict[str, Any]:
    """Every user claim this account can provide, by name (personal ones only with a profile)."""
    values: dict[str, Any] = {
        "sub": account.subject,
        "preferred_username": account.username,
        "updated_at": int(account.updated_at.timestamp()),
        "user_type": account.user_type,
        "verification_level": account.verification_level,
        "verified_at": int(account.verified_at.timestamp()) if account.verified_at else None,
        "phone_number_verified": bool(account.phone_verified) if account.phone_sealed else None,
    }
    if profile is not None:
        values["name"] = profile.name
        values["phone_number"] = f"+86{profile.phone}" if profile.phone else None
        values["id_number"] = profile.id_number
        values["id_number_masked"] = (
            mask_id_number(profile.id_number) if profile.id_number else None
        )
    return values


def requested_claims(
    scopes: Iterable[str], claims_request: dict[str, dict[str, Any]] | None
) -> list[str]:
    """Every user claim an authorization request asks for, other than ``sub``: through its
    scopes and through the ``claims`` parameter (verified claims included), for the ID token
    and for userinfo."""
    scopes = list(scopes)
    names: list[str] = []
    for target in ("id_token", "userinfo"):
        requested = (claims_request or {}).get(target)
        names += claim_names_for(scopes, requested)
        names += verified_claims_request(requested) or []
    return [name for name in dict.fromkeys(names) if name != "sub"]


def claim_names_for(scopes: Iterable[str], requested: dict[str, Any] | None) -> list[str]:
    """Claim names released for the given scopes plus those individually requested."""
    names: list[str] = []
    for scope in scopes:
        names.extend(SCOPE_CLAIMS.get(scope, ()))
    for name in requested or {}:
        if name in USER_CLAIMS:
            names.append(name)
    return list(dict.fromkeys(names))


class ClaimReleaser:
    """Builds the user claims of ID tokens, userinfo and introspection answers."""

    def __init__(
        self,
        source: ClaimSource,
        trust_framework: str,
        subjects: Subjects,
        addresses: AddressSource | None = None,
    ) -> None:
        self.addresses = addresses
        self.source = source
        self.trust_framework = trust_framework
        self.subjects = subjects

    def release(
        self,
        account: Account,
        scopes: Iterable[str],
        requested: dict[str, Any] | None,
        allowed: Collection[str] | None = None,
    ) -> dict[str, Any]:
        """The user claims the scopes and the ``claims`` request name, limited to ``allowed``
        (what the person consented to; ``sub`` always goes). Claims without a value are
        omitted. Personal data is opened only when a personal claim goes out."""
        permitted = None if allowed is None else {"sub", *allowed}
        names = [
            name
            for name in claim_names_for(scopes, requested)
            if permitted is None or name in permitted
        ]
        inner = verified_claims_request(requested)
        if inner is not None:
            inner = [n for n in inner if permitted is None or n in permitted]
        wants_personal = PERSONAL_CLAIMS.intersection(names) or inner
        profile = self.source.profile(account) if wants_personal else None
        available = account_claims(account, profile)
        if "address" in names and self.addresses is not None:
            # Read only when the address goes out (one SELECT of the default address).
            available["address"] = self.addresses.address_claim(account)
        released: dict[str, Any] = {}
        for name in names:
            value = available.get(name)
            if value is not None and value != "":
                released[name] = value
        if inner is not None:
            verified = self._verified_claims(account, available, inner)
            if verified is not None:
                released[VERIFIED_CLAIMS] = verified
        return released

    def for_grant(
        self, grant: Grant, scopes: Iterable[str], requested: dict[str, Any] | None
    ) -> dict[str, Any]:
        """The claims of a token or userinfo answer for this grant, ``sub`` included: the
        person's, or for a company login the company's with who acts and what they may do."""
        scopes = list(scopes)
        if grant.entity is None or grant.delegation is None:
            claims = self.release(grant.account, scopes, requested, grant.released_claims)
            claims["sub"] = self.subjects.for_client(grant.client, grant.account.subject)
            return claims
        return self.company_claims(grant, scopes)

    def company_claims(self, grant: Grant, scopes: list[str]) -> dict[str, Any]:
        """Legal-person issue, item 5: ``sub`` is the company's own subject identifier (never
        the USCC), ``act`` (RFC 8693 4.1) the handler, with their name only when ``profile``
        was granted and the person allowed ``name``."""
        entity, account = grant.entity, grant.account
        assert entity is not None and grant.delegation is not None
        act: dict[str, Any] = {
            "sub": self.subjects.for_client(grant.client, account.subject),
            "verification_level": account.verification_level,
        }
        released = grant.released_claims
        if "profile" in scopes and (released is None or "name" in released):
            name = self.source.profile(account).name
            if name:
                act["name"] = name
        return {
            "sub": self.subjects.for_client(grant.client, entity.subject),
            "user_type": "legal_person",
            "entity": {
                "uscc": entity.uscc,
                "name": entity.name,
                "type": entity.entity_type,
                "region": entity.region,
                "verification_level": entity.verification_level,
            },
            "act": act,
            "delegation": {k: grant.delegation.get(k) for k in DELEGATION_MEMBERS},
        }

    def _verified_claims(
        self, account: Account, available: dict[str, Any], names: list[str]
    ) -> dict[str, Any] | None:
        """OIDC4IDA 1.0 section 5: the claims the population registry confirmed, with the
        record as ``electronic_record`` evidence. Nothing when the registry never matched."""
        evidence = self.source.registry_evidence(account)
        if evidence is None or not names:
            return None
        when = evidence.created_at.strftime("%Y-%m-%dT%H:%M:%SZ")
        record: dict[str, Any] = {
            "type": "electronic_record",
            "check_details": [{"check_method": "data", "txn": evidence.reference or evidence.id}],
            "time": when,
            "record": {"type": evidence.source, "source": {"name": evidence.source}},
        }
        claims = {n: available[n] for n in names if available.get(n)}
        if not claims:
            return None
        return {
            "verification": {
                "trust_framework": self.trust_framework,
                "time": when,
                "verification_process": evidence.id,
                "evidence": [record],
                "assurance_level": account.verification_level,
            },
            "claims": claims,
        }
