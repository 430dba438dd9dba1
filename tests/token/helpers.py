"""Relying parties for the back-channel tests: each way a portal authenticates to the provider.

``RelyingParty`` (tests/support.py) authenticates with ``client_secret_basic`` (or ``none`` for a
public client); the subclasses here send ``client_secret_post`` or a ``private_key_jwt``
assertion (RFC 7523 section 2.2, OIDC Core section 9) signed with jwcrypto.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jwcrypto import jwk, jwt

from tests.support import CliRunner, RelyingParty

TOKEN_ENDPOINT = "http://localhost/token"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
PASSWORD = "correct horse battery"


def at_hash(access_token: str) -> str:
    """OIDC Core 3.1.3.6: left half of the SHA-256 of the access token, base64url."""
    digest = hashlib.sha256(access_token.encode()).digest()
    return base64.urlsafe_b64encode(digest[:16]).rstrip(b"=").decode()


def basic(client_id: str, secret: str) -> dict[str, str]:
    value = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    return {"Authorization": f"Basic {value}"}


def register(cli: CliRunner, *args: str) -> dict[str, Any]:
    """``idp clients create`` with a fixed redirect URI and a name of its own (portal names are
    unique); returns the registration as JSON."""
    return cli.ok(
        "clients",
        "create",
        "--name",
        f"Test Portal {secrets.token_hex(3)}",
        "--redirect-uri",
        "https://portal.example.gov.cn/callback",
        "--json",
        *args,
    )


@dataclass
class PostRelyingParty(RelyingParty):
    """A portal registered for ``client_secret_post`` (RFC 6749 section 2.3.1)."""

    def client_auth(self) -> tuple[dict[str, str], dict[str, str]]:
        assert self.client_secret is not None
        return {}, {"client_id": self.client_id, "client_secret": self.client_secret}


@dataclass
class KeyRelyingParty(RelyingParty):
    """A portal registered for ``private_key_jwt`` with its own RSA key."""

    key: jwk.JWK | None = None
    alg: str = "RS256"

    def assertion(self, **overrides: Any) -> str:
        """A fresh client assertion (RFC 7523 section 3); ``overrides`` replace claims."""
        assert self.key is not None
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.client_id,
            "sub": self.client_id,
            "aud": TOKEN_ENDPOINT,
            "jti": secrets.token_urlsafe(16),
            "iat": now,
            "exp": now + 60,
        }
        claims.update(overrides)
        header = {"alg": self.alg, "kid": self.key.get("kid")}
        token = jwt.JWT(header=header, claims=claims)
        token.make_signed_token(self.key)
        return str(token.serialize())

    def client_auth(self) -> tuple[dict[str, str], dict[str, str]]:
        return {}, {"client_assertion_type": ASSERTION_TYPE, "client_assertion": self.assertion()}


@functools.cache
def rsa_key(name: str = "portal") -> jwk.JWK:
    """A 2048-bit RSA key per name, generated once per run (generation is slow)."""
    return jwk.JWK.generate(kty="RSA", size=2048, kid=f"{name}-{secrets.token_hex(4)}")


def write_jwks(path: Path, *keys: jwk.JWK) -> Path:
    """The public key set a portal registers with ``--jwks-file``."""
    path.write_text(
        json.dumps({"keys": [json.loads(key.export_public()) for key in keys]}),
        encoding="utf-8",
    )
    return path


def obtain(rp: RelyingParty, user: dict[str, str], **overrides: Any) -> tuple[Any, dict[str, Any]]:
    """Front channel then code exchange: (the authorization attempt, the token response JSON)."""
    attempt = rp.login(user["username"], user["password"], **overrides)
    assert "code" in attempt.result, attempt.result
    response = rp.exchange(attempt)
    assert response.status_code == 200, response.get_json()
    return attempt, response.get_json()
