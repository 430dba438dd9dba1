"""The UserInfo endpoint (OpenID Connect Core 1.0 section 5.3, RFC 6750 section 2).

The access token comes in the ``Authorization: Bearer`` header (GET or POST) or, on POST, in the
form body as ``access_token`` - never both. Errors carry ``WWW-Authenticate`` (RFC 6750 3.1).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from idp.models import Grant
from idp.oauth import claims as claims_module
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


def userinfo(
    request: ProtocolRequest,
    tokens: TokenService,
    claims: claims_module.ClaimReleaser,
    record_disclosure: Callable[[Grant, str, list[str]], None],
) -> ProtocolResponse:
    value, problem = extract_bearer(request)
    if problem is not None:
        return problem
    assert value is not None
    token = tokens.find(value, "access_token")
    if token is None or token.kind != "access_token" or not token.active:
        return _bearer_error(401, "invalid_token", "The access token is invalid or expired.")
    scopes = token.row.scope.split()
    if "openid" not in scopes:
        return _bearer_error(403, "insufficient_scope", "The token was not issued for openid.")
    grant = token.grant
    requested = (grant.claims or {}).get("userinfo")
    body = claims.for_grant(grant, scopes, requested)
    record_disclosure(grant, "userinfo", sorted(body))
    return ProtocolResponse(200, body, NO_STORE)
