"""Portals of the FAPI 2.0 tests: pushed requests (RFC 9126), request objects (RFC 9101) and
JARM, signed with jwcrypto, independently of the provider."""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from jwcrypto import jwk, jwt

from tests.support import ISSUER, AuthorizationAttempt, CliRunner, RelyingParty, pkce_pair
from tests.token.helpers import ASSERTION_TYPE, KeyRelyingParty, rsa_key, write_jwks

REDIRECT_URI = "https://portal.example.gov.cn/callback"
PAR_PREFIX = "urn:ietf:params:oauth:request_uri:"


def register(cli: CliRunner, *args: str) -> dict[str, Any]:
    return cli.ok(
        "clients",
        "create",
        "--name",
        f"FAPI Portal {secrets.token_hex(3)}",
        "--redirect-uri",
        REDIRECT_URI,
        "--json",
        *args,
    )


def key_portal(cli: CliRunner, browser: Any, tmp_path: Any, *args: str) -> FapiRelyingParty:
    """A private_key_jwt portal with its own RSA key (``args``: more ``clients create`` options)."""
    key = rsa_key("fapi")
    jwks_file = write_jwks(tmp_path / f"jwks-{secrets.token_hex(3)}.json", key)
    data = register(
        cli, "--token-endpoint-auth-method", "private_key_jwt", "--jwks-file", str(jwks_file), *args
    )
    return FapiRelyingParty(browser, data["client_id"], None, REDIRECT_URI, key=key, alg="PS256")


@dataclass
class FapiRelyingParty(KeyRelyingParty):
    """A private_key_jwt portal that pushes requests, signs request objects, reads JARM."""

    def client_auth(self) -> tuple[dict[str, str], dict[str, str]]:
        # FAPI 2.0 Security Profile 5.3.2.1 / RFC 7523bis: the audience is the issuer.
        return {}, {
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": self.assertion(aud=ISSUER),
        }

    def request_object(self, params: dict[str, Any], **overrides: Any) -> str:
        assert self.key is not None
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.client_id,
            "aud": ISSUER,
            "iat": now,
            "nbf": now,
            "exp": now + 300,
            "jti": secrets.token_urlsafe(12),
            **params,
        }
        claims.update(overrides)
        claims = {k: v for k, v in claims.items() if v is not None}
        header = {"alg": self.alg, "kid": self.key.get("kid"), "typ": "oauth-authz-req+jwt"}
        token = jwt.JWT(header=header, claims=claims)
        token.make_signed_token(self.key)
        return str(token.serialize())


def push(rp: RelyingParty, **overrides: Any) -> tuple[Any, str | None, dict[str, str]]:
    """POST /par with the portal's authentication: (the response, the PKCE verifier, params)."""
    params, verifier = rp.authorization_params(**overrides)
    headers, auth_fields = rp.client_auth()
    response = rp.browser.post("/par", data={**auth_fields, **params}, headers=headers)
    return response, verifier, params


def pushed_login(
    rp: RelyingParty, user: dict[str, str], request_uri: str, verifier: str | None, **extra: Any
) -> AuthorizationAttempt:
    """The front channel with only ``client_id`` and ``request_uri`` (RFC 9126 4)."""
    dropped = dict.fromkeys(
        (
            "response_type",
            "redirect_uri",
            "scope",
            "state",
            "nonce",
            "code_challenge",
            "code_challenge_method",
        )
    )
    attempt = rp.login(
        user["username"], user["password"], **{**dropped, "request_uri": request_uri, **extra}
    )
    attempt.verifier = verifier
    return attempt


def authorize_url(rp: RelyingParty, **params: Any) -> str:
    return "/authorize?" + urlencode({"client_id": rp.client_id, **params})


def redirect_params(response: Any) -> dict[str, str]:
    location = response.headers["Location"]
    parts = urlsplit(location)
    return {k: v[0] for k, v in parse_qs(parts.query or parts.fragment).items()}


def verify_jwt(browser: Any, token: str, algs: list[str]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(header, claims) of a JWT we signed, checked against /jwks.json with jwcrypto."""
    keys = jwk.JWKSet.from_json(browser.get("/jwks.json").get_data(as_text=True))
    parsed = jwt.JWT(jwt=token, key=keys, algs=algs, expected_type="JWS")
    return json.loads(parsed.header), json.loads(parsed.claims)


__all__ = ["PAR_PREFIX", "pkce_pair"]
