"""Token introspection (RFC 7662). A portal may introspect the tokens issued to it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from authlib.oauth2.rfc7662 import IntrospectionEndpoint as _IntrospectionEndpoint

from idp.models import Client, Grant
from idp.oauth.claims import ClaimReleaser
from idp.oauth.errors import UnsupportedTokenTypeError
from idp.oauth.subjects import Subjects
from idp.oauth.tokens import IssuedToken, TokenService


class IntrospectionEndpoint(_IntrospectionEndpoint):
    CLIENT_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "private_key_jwt"]
    # Set on a subclass when the server is built (``idp.oauth.endpoints``).
    issuer: str
    tokens: TokenService
    subjects: Subjects
    claims: ClaimReleaser
    released: Callable[[Grant, str, list[str]], None]

    def check_params(self, request: Any, client: Client) -> None:
        """RFC 7009 section 2.2.1: an unknown hint is ``unsupported_token_type``, with 400."""
        hint = request.form.get("token_type_hint")
        if hint and hint not in self.SUPPORTED_TOKEN_TYPES:
            raise UnsupportedTokenTypeError()
        super().check_params(request, client)

    def query_token(self, token_string: str, token_type_hint: str | None) -> IssuedToken | None:
        return self.tokens.find(token_string, token_type_hint)

    def check_permission(self, token: IssuedToken, client: Client, request: Any) -> bool:
        return token.check_client(client)

    def introspect_token(self, token: IssuedToken) -> dict[str, Any]:
        """``username`` (RFC 7662 2.2) is the person's ``preferred_username``: it is only told
        to a portal the person released that claim to (claim-level consent). A company login
        answers with the company claims of its ID token instead (``sub`` is the company's)."""
        grant = token.grant
        released = grant.released_claims
        answer: dict[str, Any] = {
            "active": True,
            "scope": token.get_scope(),
            "client_id": grant.client_id,
            "token_type": (
                ("DPoP" if token.jkt else "Bearer")
                if token.kind == "access_token"
                else "refresh_token"
            ),
            "exp": int(token.expires_at.timestamp()),
            "iat": int(token.row.issued_at.timestamp()),
            "sub": self.subjects.for_client(grant.client, grant.account.subject),
            "aud": grant.client_id,
            "iss": self.issuer,
            "auth_time": grant.auth_time,
            "acr": grant.acr,
            "sid": grant.sid,
        }
        # RFC 9449 6.2: the key a DPoP-bound token is bound to (a refresh token only when it
        # is bound: a public portal's, RFC 9449 5).
        if token.jkt and (token.kind == "access_token" or grant.client.public):
            answer["cnf"] = {"jkt": token.jkt}
        # RFC 9396 9.1: the details the token carries; RFC 8693 4.1: who acts (a token made
        # by token exchange: client_id is the portal that asked for it, aud the target).
        details = token.row.authorization_details if token.kind == "access_token" else None
        if details or grant.authorization_details:
            answer["authorization_details"] = details or grant.authorization_details
        if grant.act:
            answer["act"] = grant.act
            answer["client_id"] = grant.act.get("sub", grant.client_id)
        if grant.entity is not None and grant.delegation is not None:
            company = self.claims.company_claims(grant, token.get_scope().split())
            answer.update(company)
            told = sorted(company)
        elif released is None or "preferred_username" in released:
            answer["username"] = grant.account.username
            told = ["sub", "username"]
        else:
            told = ["sub"]
        self.released(grant, "introspection", told)
        return {key: value for key, value in answer.items() if value is not None}
