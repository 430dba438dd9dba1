"""Signed request objects (JAR, RFC 9101): ``request`` by value, at ``/authorize`` and ``/par``.

The object is a JWS signed by the portal with a key of its registered ``jwks`` or ``jwks_uri``
(the same keys as ``private_key_jwt``: ``idp.oauth.client_auth.PortalKeys``, fetched through the
guarded fetch). Checked (RFC 9101 4, 6.1, 6.3, 10.8; FAPI 2.0 Message Signing 5.3.1 for ``nbf``):

- the algorithm is the portal's ``request_object_signing_alg`` when registered, otherwise one of
  :data:`REQUEST_OBJECT_ALGORITHMS` (never ``none``, never HMAC); encrypted objects are refused;
- ``iss`` is the ``client_id``, ``aud`` is our issuer, ``client_id`` (when present) matches;
- ``exp`` is required and in the future; ``nbf`` and ``iat``, when present, not in the future
  (with :data:`LEEWAY`); for a ``fapi2`` portal ``nbf`` is required and ``exp - nbf`` is at most
  an hour;
- a ``jti``, when present, is accepted once (Redis, until the object expires);
- the object carries no ``request`` or ``request_uri`` of its own.

The parameters of the request are then taken from the object only (6.3): the caller replaces
the query's parameters with :meth:`RequestObjects.open`'s result. Every refusal is
``invalid_request_object`` with the reason in ``error_description``.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from collections.abc import Callable
from typing import Any, TypeGuard

import redis
from joserfc import jws, jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from idp.models import Client
from idp.oauth.errors import InvalidRequestObjectError, OAuth2Error
from idp.oauth.fapi import is_fapi2

# request_object_signing_alg_values_supported in discovery.
REQUEST_OBJECT_ALGORITHMS = ("PS256", "ES256", "RS256")
LEEWAY = 60
FAPI2_MAX_LIFETIME = 3600
# Claims of the JWT itself, not parameters of the authorization request.
JWT_CLAIMS = frozenset({"iss", "aud", "exp", "nbf", "iat", "jti", "sub"})


class RequestObjects:
    def __init__(
        self,
        *,
        issuer: str,
        resolve_keys: Callable[[Client], KeySet],
        redis_client: redis.Redis,
    ) -> None:
        self.issuer = issuer
        self._resolve_keys = resolve_keys
        self._redis = redis_client

    def open(self, client: Client, value: str) -> dict[str, list[str]]:
        """The authorization request's parameters, from the verified object ``value`` sent by
        ``client``; raises ``InvalidRequestObjectError``."""
        if value.count(".") == 4:
            raise InvalidRequestObjectError("Encrypted request objects are not supported.")
        algorithms = (
            [client.request_object_signing_alg]
            if client.request_object_signing_alg
            else list(REQUEST_OBJECT_ALGORITHMS)
        )
        try:
            header = jws.extract_compact(value.encode()).headers()
        except (JoseError, ValueError, TypeError):
            raise InvalidRequestObjectError("The request object is not a signed JWT.") from None
        if header.get("alg") not in algorithms:
            raise InvalidRequestObjectError(
                f"The request object must be signed with {' or '.join(algorithms)}."
            )
        try:
            keys = self._resolve_keys(client)
        except OAuth2Error:
            raise InvalidRequestObjectError("The portal's key set could not be fetched.") from None
        try:
            claims = dict(jwt.decode(value, keys, algorithms=algorithms).claims)
        except (JoseError, ValueError, TypeError):
            raise InvalidRequestObjectError(
                "The request object's signature does not verify with the portal's keys."
            ) from None
        self._check_claims(client, claims)
        return {
            name: [member if isinstance(member, str) else json.dumps(member)]
            for name, member in claims.items()
            if name not in JWT_CLAIMS
        }

    def _check_claims(self, client: Client, claims: dict[str, Any]) -> None:
        now = time.time()
        if claims.get("iss") != client.client_id:
            raise InvalidRequestObjectError("The request object's 'iss' must be the client_id.")
        audience = claims.get("aud")
        audiences = audience if isinstance(audience, list) else [audience]
        if self.issuer not in audiences:
            raise InvalidRequestObjectError("The request object's 'aud' must be the issuer.")
        if claims.get("client_id", client.client_id) != client.client_id:
            raise InvalidRequestObjectError("The request object's 'client_id' does not match.")
        expires = claims.get("exp")
        if not _number(expires):
            raise InvalidRequestObjectError("The request object needs an 'exp'.")
        if expires < now - LEEWAY:
            raise InvalidRequestObjectError("The request object has expired.")
        for name in ("nbf", "iat"):
            moment = claims.get(name)
            if moment is not None and (not _number(moment) or moment > now + LEEWAY):
                raise InvalidRequestObjectError(f"The request object's '{name}' is in the future.")
        if is_fapi2(client):
            not_before = claims.get("nbf")
            if not _number(not_before):
                raise InvalidRequestObjectError("The fapi2 profile requires 'nbf'.")
            if expires - not_before > FAPI2_MAX_LIFETIME:
                raise InvalidRequestObjectError(
                    "The fapi2 profile allows a request object to live at most 60 minutes."
                )
        if "request" in claims or "request_uri" in claims:
            raise InvalidRequestObjectError(
                "A request object must not contain 'request' or 'request_uri'."
            )
        jti = claims.get("jti")
        if jti is not None:
            if not isinstance(jti, str) or not jti or len(jti) > 256:
                raise InvalidRequestObjectError("Invalid 'jti'.")
            digest = hashlib.sha256(jti.encode()).hexdigest()
            lifetime = max(LEEWAY, min(int(expires - now) + LEEWAY, FAPI2_MAX_LIFETIME + LEEWAY))
            key = f"idp:jar:jti:{client.client_id}:{digest}"
            if not self._redis.set(key, "1", nx=True, ex=lifetime):
                raise InvalidRequestObjectError("The request object was already used ('jti').")


def _number(value: Any) -> TypeGuard[float]:
    """A JSON number (NumericDate, RFC 7519 2), finite (json reads Infinity and NaN)."""
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)
        and abs(value) < 1e11
    )
