"""Logout token validation: OpenID Connect Back-Channel Logout 1.0, section 2.6.

Pure functions over the token and the provider's key set; no Flask, no I/O. The caller fetches
the JWKS (``jwks_uri`` from discovery) and records the result (``clients.portal.store``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any

from joserfc import jwt
from joserfc.errors import InvalidKeyIdError, JoseError
from joserfc.jwk import KeySet

BACKCHANNEL_LOGOUT_EVENT = "http://schemas.openid.net/event/backchannel-logout"
LOGOUT_TOKEN_TYPE = "logout+jwt"  # section 2.4 and 4.1 (explicit typing, RFC 8725 3.11)
# RFC 7515 4.1.9: "application/" may be left out of a typ media type.
LOGOUT_TOKEN_TYPES = {LOGOUT_TOKEN_TYPE, f"application/{LOGOUT_TOKEN_TYPE}"}
LEEWAY = 60  # seconds of clock skew allowed on iat and exp


class InvalidLogoutToken(ValueError):
    """The token fails one of the checks of section 2.6; the message says which (for logs)."""


@dataclass(frozen=True)
class LogoutToken:
    jti: str
    exp: int
    sid: str | None
    sub: str | None


def validate_logout_token(
    token: str,
    *,
    issuer: str,
    client_id: str,
    fetch_keys: Callable[[bool], dict[str, Any]],
    algorithms: Collection[str],
    now: float | None = None,
) -> LogoutToken:
    """Validate ``token`` as section 2.6 asks, or raise :class:`InvalidLogoutToken`.

    ``fetch_keys(force)`` returns the provider's JWKS; it is called again with ``force=True``
    once when the token names a key the cached set lacks (the provider rotated its keys).
    """
    if not isinstance(token, str) or token.count(".") != 2:
        # Step 1: an encrypted (five-part) token would need a key this portal never registered.
        raise InvalidLogoutToken("not a compact JWS")
    allowed = [alg for alg in algorithms if alg != "none"]
    if not allowed:
        raise InvalidLogoutToken("no signature algorithm to accept")
    # Step 2: the signature, checked as for an ID token, with an asymmetric algorithm the provider
    # publishes; "none" is never accepted.
    try:
        decoded = _decode(token, fetch_keys(False), allowed)
    except InvalidKeyIdError:
        try:
            decoded = _decode(token, fetch_keys(True), allowed)
        except JoseError as exc:
            raise InvalidLogoutToken(f"signature: {exc}") from None
    except JoseError as exc:
        raise InvalidLogoutToken(f"signature: {exc}") from None
    header, claims = decoded.header, decoded.claims
    typ = header.get("typ")
    if typ is not None and str(typ).lower() not in LOGOUT_TOKEN_TYPES:
        raise InvalidLogoutToken(f"typ is {typ!r}, not {LOGOUT_TOKEN_TYPE}")

    # Step 3: iss, aud, iat and exp as for an ID token (OpenID Connect Core 3.1.3.7).
    now = time.time() if now is None else now
    if claims.get("iss") != issuer:
        raise InvalidLogoutToken("iss is not the provider's issuer")
    audience = claims.get("aud")
    audiences = audience if isinstance(audience, list) else [audience]
    if client_id not in audiences:
        raise InvalidLogoutToken("aud does not contain this portal's client_id")
    if len(audiences) > 1 and claims.get("azp") not in (None, client_id):
        raise InvalidLogoutToken("azp names another client")
    iat, exp = claims.get("iat"), claims.get("exp")
    if not _is_number(iat) or iat > now + LEEWAY:
        raise InvalidLogoutToken("iat missing or in the future")
    if not _is_number(exp) or exp <= now - LEEWAY:
        raise InvalidLogoutToken("exp missing or passed")

    # Step 4: sub, sid or both.
    sid, sub = claims.get("sid"), claims.get("sub")
    if sid is not None and (not isinstance(sid, str) or not sid):
        raise InvalidLogoutToken("sid is not a string")
    if sub is not None and (not isinstance(sub, str) or not sub):
        raise InvalidLogoutToken("sub is not a string")
    if sid is None and sub is None:
        raise InvalidLogoutToken("neither sid nor sub")
    # Step 5: the back-channel logout event, whose value is a JSON object.
    events = claims.get("events")
    if not isinstance(events, dict) or not isinstance(events.get(BACKCHANNEL_LOGOUT_EVENT), dict):
        raise InvalidLogoutToken("events lacks the back-channel logout event")
    # Step 6: no nonce, so that an ID token can never pass for a logout token (section 2.4).
    if "nonce" in claims:
        raise InvalidLogoutToken("a logout token carries no nonce")
    # Section 2.4: jti is required; step 7 (replay) is checked against the store by the caller.
    jti = claims.get("jti")
    if not isinstance(jti, str) or not jti:
        raise InvalidLogoutToken("jti missing")
    return LogoutToken(jti=jti, exp=int(exp), sid=sid, sub=sub)


def _decode(token: str, jwks: dict[str, Any], algorithms: list[str]) -> jwt.Token:
    try:
        key_set = KeySet.import_key_set(jwks)  # type: ignore[arg-type]
    except (JoseError, ValueError, TypeError, KeyError) as exc:
        raise InvalidLogoutToken(f"the provider's key set is unusable: {exc}") from None
    return jwt.decode(token, key_set, algorithms=algorithms)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
