"""``private_key_jwt`` client authentication (OIDC Core section 9, RFC 7523 section 2.2).

The portal signs an assertion with a key from its registered ``jwks`` or ``jwks_uri``. Each
assertion's ``jti`` is accepted once (kept in Redis until the assertion expires).
"""

from __future__ import annotations

import logging
import time
from typing import Any, cast

import redis
from authlib.oauth2.rfc7523 import JWTBearerClientAssertion
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from idp.models import Client
from idp.oauth.clients import FetchError, fetch_json
from idp.oauth.errors import InvalidClientError

log = logging.getLogger(__name__)

# A portal that rotates its keys publishes the new one at least this long before signing with it.
_JWKS_CACHE_SECONDS = 300
# token_endpoint_auth_signing_alg_values_supported in discovery; never "none" or HMAC.
ASSERTION_ALGORITHMS = ["RS256", "ES256", "PS256"]


class PrivateKeyJWT(JWTBearerClientAssertion):
    CLIENT_AUTH_METHOD = "private_key_jwt"

    def __init__(
        self,
        *,
        issuer: str,
        token_endpoint: str,
        redis_client: redis.Redis,
        public_only: bool = True,
        keys: PortalKeys | None = None,
    ) -> None:
        super().__init__(validate_jti=True, leeway=60)
        self.issuer = issuer
        self.token_endpoint = token_endpoint
        self.redis = redis_client
        # Production fetches jwks_uri only from public addresses (as registration does).
        self.public_only = public_only
        self.keys = keys or PortalKeys(public_only=public_only)

    def get_audiences(self) -> list[str]:
        # The token endpoint URL (RFC 7523 3) or the issuer (OIDC Core 9, RFC 7523bis); at the
        # pushed authorization request endpoint also its URL (RFC 9126 2).
        return [self.token_endpoint, self.issuer, f"{self.issuer}/par"]

    def process_assertion_claims(self, assertion: str, resolve_key: Any) -> Any:
        """Authlib's check, with the advertised algorithms (joserfc's defaults omit PS256)."""
        try:
            token = jwt.decode(assertion, resolve_key, algorithms=ASSERTION_ALGORITHMS)
        except JoseError as exc:
            raise InvalidClientError(description=exc.description) from exc
        self.verify_claims(token.claims)
        return token.claims

    def validate_jti(self, claims: Any, jti: str) -> bool:
        expires = int(claims.get("exp", time.time() + 300)) - int(time.time()) + 60
        key = f"idp:jti:{claims.get('iss')}:{jti}"
        return bool(self.redis.set(key, "1", nx=True, ex=max(60, min(expires, 3600))))

    def resolve_client_public_key(self, client: Client) -> KeySet:
        return self.keys.resolve(client)


class PortalKeys:
    """A portal's public keys: its registered ``jwks``, or its ``jwks_uri`` fetched through the
    guarded fetch and cached a few minutes. Shared by ``private_key_jwt`` and signed request
    objects (``idp.oauth.request_objects``)."""

    def __init__(self, *, public_only: bool = True) -> None:
        self.public_only = public_only
        self._remote: dict[str, tuple[float, KeySet]] = {}

    def resolve(self, client: Client) -> KeySet:
        """Raises ``InvalidClientError`` when the ``jwks_uri`` cannot be fetched."""
        if client.jwks:
            return KeySet.import_key_set(cast(Any, client.jwks))
        if client.jwks_uri:
            cached = self._remote.get(client.jwks_uri)
            if cached and cached[0] > time.monotonic():
                return cached[1]
            try:
                document = fetch_json(client.jwks_uri, 3.0, public_only=self.public_only)
                key_set = KeySet.import_key_set(document)
            except (FetchError, ValueError, TypeError, KeyError) as exc:
                # Fail closed: no key set, no authentication (and never a 500).
                log.warning(
                    "jwks_uri of client %s unusable: %s", client.client_id, type(exc).__name__
                )
                raise InvalidClientError(
                    description="The client's key set could not be fetched."
                ) from None
            self._remote[client.jwks_uri] = (time.monotonic() + _JWKS_CACHE_SECONDS, key_set)
            return key_set
        return KeySet([])
