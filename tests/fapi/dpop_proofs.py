"""DPoP proofs (RFC 9449 4.2) made with jwcrypto, independently of the provider."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from jwcrypto import jwk, jws

from tests.support import ISSUER

TOKEN_URL = f"{ISSUER}/token"
USERINFO_URL = f"{ISSUER}/userinfo"


def ath(access_token: str) -> str:
    digest = hashlib.sha256(access_token.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@dataclass
class ProofKey:
    """A portal's DPoP key: ``proof(...)`` signs one proof for one request."""

    alg: str = "ES256"
    key: jwk.JWK = field(default=None)  # type: ignore[assignment]

    def __post_init__(self) -> None:
        if self.key is None:
            if self.alg == "ES256":
                self.key = jwk.JWK.generate(kty="EC", crv="P-256")
            elif self.alg == "Ed25519":
                self.key = jwk.JWK.generate(kty="OKP", crv="Ed25519")
            else:
                self.key = jwk.JWK.generate(kty="RSA", size=2048)

    @property
    def jkt(self) -> str:
        """RFC 7638: the SHA-256 thumbprint, base64url."""
        return str(self.key.thumbprint())

    def public(self) -> dict[str, Any]:
        return dict(self.key.export_public(as_dict=True))

    def proof(
        self,
        htm: str = "POST",
        htu: str = TOKEN_URL,
        *,
        access_token: str | None = None,
        header: dict[str, Any] | None = None,
        **claims: Any,
    ) -> str:
        payload: dict[str, Any] = {
            "jti": secrets.token_urlsafe(16),
            "htm": htm,
            "htu": htu,
            "iat": int(time.time()),
        }
        if access_token is not None:
            payload["ath"] = ath(access_token)
        payload.update(claims)
        payload = {k: v for k, v in payload.items() if v is not None}
        protected = {"typ": "dpop+jwt", "alg": self.alg, "jwk": self.public(), **(header or {})}
        protected = {k: v for k, v in protected.items() if v is not None}
        signing_input = (
            f"{_b64(json.dumps(protected).encode())}.{_b64(json.dumps(payload).encode())}"
        )
        if protected.get("alg") != self.alg:
            # A header naming another algorithm (HS256, none): not a signature this key makes.
            return f"{signing_input}.{_b64(b'not a signature')}"
        if self.alg != "Ed25519":
            token = jws.JWS(json.dumps(payload).encode())
            token.add_signature(self.key, alg=self.alg, protected=json.dumps(protected))
            return str(token.serialize(compact=True))
        # RFC 9864's fully specified name, which jwcrypto does not know: signed by hand.
        private = self.key.get_op_key("sign")
        return f"{signing_input}.{_b64(private.sign(signing_input.encode()))}"
