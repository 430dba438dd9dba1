"""ID tokens (OpenID Connect Core 1.0 sections 2, 3.1.3.6 and 12.2)."""

from __future__ import annotations

import time
from typing import Any

from authlib.oidc.core.grants.util import create_half_hash

from idp.models import Grant
from idp.oauth import claims as claims_module
from idp.oauth.encryption import ResponseEncryption
from idp.oauth.keys import KeyRing


class IdTokenFactory:
    def __init__(
        self,
        keys: KeyRing,
        issuer: str,
        ttl: int,
        claims: claims_module.ClaimReleaser,
        encryption: ResponseEncryption | None = None,
    ) -> None:
        self.keys = keys
        self.issuer = issuer
        self.ttl = ttl
        self.claims = claims
        # OIDC Core 10.2: signed, then encrypted for a portal that registered an algorithm.
        self.encryption = encryption

    def create(
        self,
        grant: Grant,
        *,
        access_token: str | None,
        nonce: str | None,
        scope: str | None = None,
    ) -> tuple[str, list[str]]:
        """The signed ID token and the names of the user claims it releases.

        ``scope`` is the scope of the tokens issued with it (narrower after some refreshes);
        only the claims the person consented to for this grant are released.
        """
        client = grant.client
        alg = client.id_token_signed_response_alg or "RS256"
        now = int(time.time())
        payload: dict[str, Any] = {
            "iss": self.issuer,
            "aud": client.client_id,
            "exp": now + self.ttl,
            "iat": now,
            "auth_time": grant.auth_time,
        }
        if nonce:
            payload["nonce"] = nonce
        if grant.acr:
            payload["acr"] = grant.acr
        if grant.amr:
            payload["amr"] = list(grant.amr)
        if grant.sid:
            payload["sid"] = grant.sid
        if access_token:
            payload["at_hash"] = create_half_hash(access_token, alg).decode()
        scopes = (scope if scope is not None else grant.scope).split()
        requested = (grant.claims or {}).get("id_token")
        released = self.claims.for_grant(grant, scopes, requested)
        payload.update(released)
        signed = self.keys.sign(payload, alg)
        if self.encryption is not None:
            signed = self.encryption.id_token(client, signed)
        return signed, sorted(released)
