"""The UserInfo endpoint (OpenID Connect Core 1.0 section 5.3, RFC 6750 section 2).

The access token comes in the ``Authorization: Bearer`` header (GET or POST) or, on POST, in the
form body as ``access_token`` - never both. Errors carry ``WWW-Authenticate`` (RFC 6750 3.1).

A DPoP-bound token (RFC 9449 7.1) comes as ``Authorization: DPoP <token>`` with a proof in the
``DPoP`` header, signed with the token's key and carrying ``ath``; errors then carry a
``WWW-Authenticate: DPoP`` challenge. A bound token presented as a bearer token is refused
(RFC 9449 7.2), and so is an unbound one presented with the DPoP scheme.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from idp.models import Client, Grant
from idp.oauth import claims as claims_module
from idp.oauth.dpop import DPoP, InvalidDPoPProofError, Proof, UseDPoPNonceError
from idp.oauth.requests import ProtocolRequest, ProtocolResponse
from idp.oauth.tokens import TokenService

NO_STORE = [("Cache-Control", "no-store"), ("Pragma", "no-cache")]


def _bearer_error(status: int, error: str | None, description: str | None) -> ProtocolResponse:
    challenge = 'Bearer realm="userinfo"'
    body: dict[str, Any] = {}
    if error:
        challenge += f', error="{error}"'
        body["error"] = error
        if description:
            challenge += f', error_description="{description}"'
            body["error_description"] = description
    return ProtocolResponse(status, body, [("WWW-Authenticate", challenge), *NO_STORE])


def extract_bearer(request: ProtocolRequest) -> tuple[str | None, ProtocolResponse | None]:
    header = request.headers.get("Authorization")
    from_header = None
    if header:
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "bearer":
            # RFC 6750 3.1: an unsupported authentication method gets a bare challenge.
            return None, _bearer_error(401, None, None)
        if not value.strip():
            return None, _bearer_error(400, "invalid_request", "Malformed Authorization header.")
        from_header = value.strip()
    from_body = request.form.get("access_token") if request.method == "POST" else None
    if from_header and from_body:
        return None, _bearer_error(400, "invalid_request", "Send the token in one place only.")
    token = from_header or from_body
    if not token:
        return None, _bearer_error(401, None, None)
    return token, None


def _dpop_error(
    status: int, error: str, description: str, headers: list[tuple[str, str]] | None = None
) -> ProtocolResponse:
    """RFC 9449 7.1: the error in a ``WWW-Authenticate: DPoP`` challenge, with ``algs``."""
    body = {"error": error, "error_description": description}
    challenge = DPoP.challenge(error, description)
    return ProtocolResponse(
        status, body, [("WWW-Authenticate", challenge), *(headers or []), *NO_STORE]
    )


def _dpop_token(
    request: ProtocolRequest, tokens: TokenService, dpop: DPoP, value: str
) -> tuple[Any, Proof | None, ProtocolResponse | None]:
    """RFC 9449 7.1: ``Authorization: DPoP <token>`` with a proof of the token's key."""
    if not value:
        return None, None, _dpop_error(400, "invalid_request", "Malformed Authorization header.")
    try:
        proof = dpop.verify(request, access_token=value)
    except UseDPoPNonceError as error:
        nonce = [("DPoP-Nonce", error.nonce)]
        return None, None, _dpop_error(401, error.error, error.description, nonce)
    except InvalidDPoPProofError as error:
        return None, None, _dpop_error(401, error.error, error.description)
    if proof is None:
        return None, None, _dpop_error(401, "invalid_dpop_proof", "Send a DPoP proof.")
    token = tokens.find(value, "access_token")
    if token is None or token.kind != "access_token" or not token.active:
        return None, None, _dpop_error(401, "invalid_token", "The access token is invalid.")
    if token.jkt is None:
        return None, None, _dpop_error(401, "invalid_token", "The token is not DPoP-bound.")
    if token.jkt != proof.jkt:
        return None, None, _dpop_error(401, "invalid_token", "The proof's key is not the token's.")
    try:
        dpop.claim(proof)
    except InvalidDPoPProofError as error:
        return None, None, _dpop_error(401, error.error, error.description)
    return token, proof, None


def userinfo(
    request: ProtocolRequest,
    tokens: TokenService,
    claims: claims_module.ClaimReleaser,
    record_disclosure: Callable[[Grant, str, list[str]], None],
    as_jwt: Callable[[Client, dict[str, Any]], str | None] | None = None,
    dpop: DPoP | None = None,
) -> ProtocolResponse:
    """``as_jwt``: the answer as a signed and/or encrypted JWT for a portal that registered
    ``userinfo_signed_response_alg`` or ``userinfo_encrypted_response_alg`` (OIDC Core 5.3.2,
    ``idp.oauth.encryption``), else None for JSON."""
    header = request.headers.get("Authorization") or ""
    proof = None
    if dpop is not None and header[:5].lower() == "dpop ":
        token, proof, problem = _dpop_token(request, tokens, dpop, header[5:].strip())
        if problem is not None:
            return problem
    else:
        value, problem = extract_bearer(request)
        if problem is not None:
            return problem
        assert value is not None
        token = tokens.find(value, "access_token")
        if token is None or token.kind != "access_token" or not token.active:
            return _bearer_error(401, "invalid_token", "The access token is invalid or expired.")
        if token.jkt is not None:
            # RFC 9449 7.2: a DPoP-bound token is no bearer token.
            return _dpop_error(401, "invalid_token", "The token is DPoP-bound: send a proof.")
    scopes = token.row.scope.split()
    if "openid" not in scopes:
        return _bearer_error(403, "insufficient_scope", "The token was not issued for openid.")
    grant = token.grant
    requested = (grant.claims or {}).get("userinfo")
    body = claims.for_grant(grant, scopes, requested)
    jwt = as_jwt(grant.client, body) if as_jwt is not None else None
    record_disclosure(grant, "userinfo", sorted(body))
    headers = NO_STORE
    if proof is not None and proof.next_nonce:
        headers = [*NO_STORE, ("DPoP-Nonce", proof.next_nonce)]
    if jwt is not None:
        return ProtocolResponse(200, jwt, [("Content-Type", "application/jwt"), *headers])
    return ProtocolResponse(200, body, headers)
