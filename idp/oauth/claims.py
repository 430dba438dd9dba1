"""Claims: what each scope releases, the ``claims`` request parameter, and building claim sets.

OpenID Connect Core 1.0 section 5.4 (scope values), 5.5 (the ``claims`` parameter) and
5.5.1.1 (``acr`` requested as an essential claim).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from idp.models import Account
from idp.oauth.errors import InvalidRequestError

# Scope -> the claims it releases. ``openid`` gives ``sub`` only.
SCOPE_CLAIMS: dict[str, tuple[str, ...]] = {
    "openid": ("sub",),
    "profile": ("name", "preferred_username", "updated_at"),
}
# Scopes that release no claims but grant something else.
OTHER_SCOPES = ("offline_access",)
SCOPES_SUPPORTED = (*SCOPE_CLAIMS, *OTHER_SCOPES)
# Claims about the authentication event, always allowed in the ID token.
PROTOCOL_CLAIMS = ("iss", "aud", "exp", "iat", "auth_time", "nonce", "acr", "amr", "azp", "sid")
USER_CLAIMS = tuple(dict.fromkeys(c for claims in SCOPE_CLAIMS.values() for c in claims))
CLAIMS_SUPPORTED = tuple(dict.fromkeys((*USER_CLAIMS, *PROTOCOL_CLAIMS, "at_hash")))
# Sensitive personal information (PIPL article 28) that may ever be released: each needs its own
# explicit tick on the consent page (article 29). Operators add more with IDP_SENSITIVE_CLAIMS.
BUILTIN_SENSITIVE_CLAIMS = frozenset({"id_number", "bank_card"})


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
                raise InvalidRequestError(f"'claims.{target}.{name}' must be null or an object.")
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


def account_claims(account: Account) -> dict[str, Any]:
    """Every user claim this account can provide, by name."""
    return {
        "sub": account.subject,
        "name": account.name,
        "preferred_username": account.username,
        "updated_at": int(account.updated_at.timestamp()),
    }


def requested_claims(
    scopes: Iterable[str], claims_request: dict[str, dict[str, Any]] | None
) -> list[str]:
    """Every user claim an authorization request asks for, other than ``sub``: through its
    scopes and through the ``claims`` parameter, for the ID token and for userinfo."""
    scopes = list(scopes)
    names = claim_names_for(scopes, (claims_request or {}).get("id_token"))
    names += claim_names_for(scopes, (claims_request or {}).get("userinfo"))
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


def release(
    account: Account,
    scopes: Iterable[str],
    requested: dict[str, Any] | None,
    allowed: Iterable[str] | None = None,
) -> dict[str, Any]:
    """The user claims for a token or userinfo answer: those the scopes and the ``claims``
    request name, limited to ``allowed`` (what the person consented to; ``sub`` always goes).
    Claims without a value are omitted."""
    available = account_claims(account)
    permitted = None if allowed is None else {"sub", *allowed}
    released: dict[str, Any] = {}
    for name in claim_names_for(scopes, requested):
        if permitted is not None and name not in permitted:
            continue
        value = available.get(name)
        if value is not None and value != "":
            released[name] = value
    return released
