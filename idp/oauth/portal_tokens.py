"""A portal's own access tokens: the client credentials grant (RFC 6749 section 4.4).

A confidential portal registered for a portal scope (``matters:write``, ``messages:send``:
``idp.models.client.PORTAL_SCOPES``) exchanges its credentials at ``/token`` for an access
token of those scopes only, with no refresh token (4.4.3) and no ID token (there is no login).
The token authorises the portal API (``idp.oauth.portal_api``): reporting matters and sending
messages to people who logged in to the portal.

Tokens are opaque 256-bit values, kept in Redis under their SHA-256 (``idp:portal-token:*``)
for their lifetime only. A token works while the portal is active, still uses a confidential
method and is still registered for the scope: disabling the portal or removing the scope ends
its tokens at once. Revoking one (RFC 7009) deletes it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import redis
from authlib.oauth2.rfc6749 import grants

from idp.models import Client
from idp.models.base import utcnow
from idp.models.client import PORTAL_SCOPES
from idp.oauth.errors import InvalidScopeError, UnauthorizedClientError, printable
from idp.observability import metrics
from idp.store.kv import ShortLivedStore

CONFIDENTIAL_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "private_key_jwt"]


@dataclass(frozen=True)
class PortalToken:
    """A live portal token: the portal (a cached, read-only row) and the scopes it carries."""

    client: Client
    scopes: frozenset[str]


class PortalTokens:
    def __init__(
        self, redis_client: redis.Redis, find_client: Callable[[str | None], Client | None]
    ) -> None:
        self._store = ShortLivedStore(redis_client, "portal-token", hash_ids=True)
        self._find_client = find_client

    def save(self, token: dict[str, Any], client: Client) -> None:
        issued = int(utcnow().timestamp())
        self._store.put(
            token["access_token"],
            {"client_id": client.client_id, "scope": token["scope"], "iat": issued},
            int(token["expires_in"]),
        )

    def find(self, value: str) -> PortalToken | None:
        """The live token ``value`` names, or None (unknown, expired, or its portal changed)."""
        if not value or len(value) > 512:
            return None
        payload = self._store.get(value)
        if payload is None:
            return None
        client = self._find_client(payload.get("client_id"))
        if client is None or not client.check_grant_type("client_credentials"):
            return None
        scopes = frozenset(payload.get("scope", "").split()) & set(client.scopes)
        return PortalToken(client, scopes) if scopes else None

    def revocable(self, value: str) -> RevocablePortalToken | None:
        """RFC 7009: the stored token ``value`` names, for the revocation endpoint (which
        checks that the portal revoking it is its own)."""
        payload = self._store.get(value) if value and len(value) <= 512 else None
        if payload is None:
            return None
        return RevocablePortalToken(value, str(payload.get("client_id")))

    def revoke(self, token: RevocablePortalToken) -> None:
        self._store.delete(token.value)


@dataclass(frozen=True)
class RevocablePortalToken:
    """Authlib's ``TokenMixin`` as much as revocation needs of a portal token."""

    value: str
    client_id: str
    kind: str = "portal_token"

    def check_client(self, client: Client) -> bool:
        return client.client_id == self.client_id


def granted_scope(client: Client, requested: str | None) -> str:
    """RFC 6749 3.3 and 4.4.2: the scopes asked for, each a portal scope the portal is
    registered for; none asked for means all of those (the pre-defined default)."""
    registered = [scope for scope in PORTAL_SCOPES if scope in client.scopes]
    if not requested:
        return " ".join(registered)
    asked = list(dict.fromkeys(requested.split()))
    refused = [scope for scope in asked if scope not in registered]
    if refused:
        shown = " ".join(printable(scope) for scope in refused)
        raise InvalidScopeError(f"Scope not allowed for this portal's own token: {shown}.")
    return " ".join(asked)


class ClientCredentialsGrant(grants.ClientCredentialsGrant):
    """RFC 6749 4.4 for confidential portals, with the portal scopes only. Authlib makes a
    grant per request: ``portal_tokens`` is set on a subclass when the server is built."""

    TOKEN_ENDPOINT_AUTH_METHODS = CONFIDENTIAL_AUTH_METHODS
    portal_tokens: PortalTokens

    def validate_token_request(self) -> None:
        client = self.authenticate_token_endpoint_client()
        if not client.check_grant_type(self.GRANT_TYPE):
            raise UnauthorizedClientError(
                "This portal is not registered for a portal scope (matters:write, "
                "messages:send) or is not confidential."
            )
        self.request.client = client
        self.request.payload.data["scope"] = granted_scope(client, self.request.payload.scope)

    def save_token(self, token: dict[str, Any]) -> None:
        self.portal_tokens.save(token, self.request.client)
        metrics.count_token(self.GRANT_TYPE, self.request.client.client_id)
