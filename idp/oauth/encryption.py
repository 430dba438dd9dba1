"""Encrypted ID tokens and signed or encrypted UserInfo answers (OpenID Connect Core 1.0
sections 5.3.2 and 10.2; OpenID Connect Dynamic Client Registration 1.0 section 2; FAPI 2.0).

A portal that registered ``id_token_encrypted_response_alg`` receives its ID token as a nested
JWT: signed with our key (``id_token_signed_response_alg``), then encrypted to the portal's own
encryption key (JWE compact serialization, ``cty: JWT``). A portal that registered
``userinfo_signed_response_alg`` and/or ``userinfo_encrypted_response_alg`` receives UserInfo as
``application/jwt``: signed (with ``iss`` and ``aud``, 5.3.2), signed then encrypted, or, with
encryption only, the JSON claims encrypted.

Key management: ``RSA-OAEP-256`` (an RSA key) or ``ECDH-ES`` / ``ECDH-ES+A256KW`` (an EC P-256
key); content encryption ``A256GCM`` (FAPI 2.0) or ``A128CBC-HS256`` (the Registration 2
default when ``..._enc`` is omitted). The recipient key is the portal's key with
``use: "enc"`` whose type fits the algorithm (and whose ``alg``, when it names one, is the
algorithm), from its registered ``jwks`` or ``jwks_uri``: the same key sets as
``private_key_jwt`` and request objects (``idp.oauth.client_auth.PortalKeys``: ``jwks_uri``
fetched with the guarded fetch of portal documents and cached a few minutes). When no usable
key can be had, the answer is refused (``invalid_client``, never an unencrypted answer and
never a 5xx).
"""

from __future__ import annotations

import json
from typing import Any, cast

from joserfc import jwe
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, RSAKey

from idp.errors import IdpError
from idp.models import Client
from idp.oauth.client_auth import PortalKeys
from idp.oauth.clients.encryption_keys import (
    DEFAULT_CONTENT_ENCRYPTION,
    KEY_TYPES,
    pick_encryption_key,
)
from idp.oauth.errors import InvalidClientError
from idp.oauth.keys import KeyRing


class EncryptionKeyUnavailable(IdpError):
    """The portal asked for encrypted answers but no encryption key of it can be had."""

    code = "invalid_client"
    status = 400

    def __init__(self, client_id: str, reason: str) -> None:
        super().__init__(
            public_message=(
                "The portal's encryption key (use 'enc') could not be found in its key set."
            ),
            detail=f"client {client_id}: {reason}",
        )


class ResponseEncryption:
    """Encrypts what goes to a portal that asked for it (and signs UserInfo answers)."""

    def __init__(self, keys: KeyRing, issuer: str, portal_keys: PortalKeys) -> None:
        self._keys = keys
        self._issuer = issuer
        self._portal_keys = portal_keys

    def _encrypt(self, client: Client, plaintext: str, alg: str, enc: str, nested: bool) -> str:
        try:
            key_set = self._portal_keys.resolve(client)
        except InvalidClientError:
            raise EncryptionKeyUnavailable(client.client_id, "jwks_uri unusable") from None
        published = [key.as_dict(private=False) for key in key_set.keys]
        chosen = pick_encryption_key(published, alg)
        if chosen is None:
            raise EncryptionKeyUnavailable(client.client_id, f"no enc key for {alg}")
        try:
            key = (RSAKey if KEY_TYPES[alg] == "RSA" else ECKey).import_key(cast(Any, chosen))
            header: dict[str, Any] = {"alg": alg, "enc": enc}
            if chosen.get("kid"):
                header["kid"] = chosen["kid"]
            if nested:
                header["cty"] = "JWT"  # OIDC Core 10.2 / RFC 7519 5.2: a nested JWT
            return jwe.encrypt_compact(header, plaintext, key, algorithms=[alg, enc])
        except (JoseError, ValueError, TypeError, KeyError) as exc:
            raise EncryptionKeyUnavailable(client.client_id, type(exc).__name__) from None

    def id_token(self, client: Client, signed: str) -> str:
        """The signed ID token, encrypted when the portal registered an algorithm."""
        alg = client.id_token_encrypted_response_alg
        if not alg:
            return signed
        enc = client.id_token_encrypted_response_enc or DEFAULT_CONTENT_ENCRYPTION
        return self._encrypt(client, signed, alg, enc, nested=True)

    def userinfo(self, client: Client, claims: dict[str, Any]) -> str | None:
        """The UserInfo answer as a JWT (``application/jwt``), or None for plain JSON."""
        signing = client.userinfo_signed_response_alg
        alg = client.userinfo_encrypted_response_alg
        if not signing and not alg:
            return None
        if signing:
            # OIDC Core 5.3.2: a signed answer SHOULD contain iss and aud.
            signed = {**claims, "iss": self._issuer, "aud": client.client_id}
            content = self._keys.sign(signed, signing)
        else:
            content = json.dumps(claims, ensure_ascii=False, separators=(",", ":"))
        if not alg:
            return content
        enc = client.userinfo_encrypted_response_enc or DEFAULT_CONTENT_ENCRYPTION
        return self._encrypt(client, content, alg, enc, nested=bool(signing))
