"""The back-channel endpoints a portal calls with its credentials: token (RFC 6749 3.2, with
PKCE: RFC 7636, and the ID token: OIDC Core 3.1.3), introspection (RFC 7662), revocation
(RFC 7009) and UserInfo (OIDC Core 5.3).

Authlib's ``AuthorizationServer`` runs the first three, framework-neutral (``idp.oauth.server``),
with our grants (``idp.oauth.grants``) and ``private_key_jwt`` (``idp.oauth.client_auth``).
Authlib instantiates grants and endpoints itself, so their services are class attributes of
subclasses made here, once, when the endpoints are built.
"""

from __future__ import annotations

import redis

from idp.identity.audit import Audit
from idp.identity.disclosures import DisclosureLog
from idp.oauth.claims import ClaimReleaser
from idp.oauth.client_auth import PrivateKeyJWT
from idp.oauth.codes import AuthorizationCodes
from idp.oauth.company_logins import CompanyLogins
from idp.oauth.grants import (
    AuthorizationCodeGrant,
    OpenIDTokenExtension,
    RefreshTokenGrant,
    S256CodeChallenge,
)
from idp.oauth.id_token import IdTokenFactory
from idp.oauth.introspection import IntrospectionEndpoint
from idp.oauth.portals import Portals
from idp.oauth.requests import ProtocolRequest, ProtocolResponse
from idp.oauth.revocation import RevocationEndpoint
from idp.oauth.server import AuthorizationServer
from idp.oauth.subjects import Subjects
from idp.oauth.tokens import TokenService
from idp.oauth.userinfo import userinfo


class TokenEndpoints:
    def __init__(
        self,
        *,
        issuer: str,
        token_endpoint: str,
        portals: Portals,
        tokens: TokenService,
        codes: AuthorizationCodes,
        id_tokens: IdTokenFactory,
        claims: ClaimReleaser,
        subjects: Subjects,
        company_logins: CompanyLogins,
        disclosures: DisclosureLog,
        audit: Audit,
        redis_client: redis.Redis,
        public_only: bool,
    ) -> None:
        self._tokens = tokens
        self._claims = claims
        self._disclosures = disclosures
        server = AuthorizationServer(portals.find, tokens)
        server.register_token_generator("default", tokens.generate)
        server.register_client_auth_method(
            PrivateKeyJWT.CLIENT_AUTH_METHOD,
            PrivateKeyJWT(
                issuer=issuer,
                token_endpoint=token_endpoint,
                redis_client=redis_client,
                public_only=public_only,
            ),
        )
        openid = OpenIDTokenExtension(id_tokens, disclosures.released)
        code_grant = type(
            "CodeGrant",
            (AuthorizationCodeGrant,),
            {"consume_code": staticmethod(codes.consume), "tokens": tokens, "audit": audit},
        )
        refresh_grant = type(
            "RefreshGrant",
            (RefreshTokenGrant,),
            {
                "tokens": tokens,
                "audit": audit,
                "recheck_delegation": staticmethod(company_logins.recheck),
            },
        )
        server.register_grant(code_grant, [S256CodeChallenge(required=True), openid])
        server.register_grant(refresh_grant, [openid])
        introspection = type(
            "Introspection",
            (IntrospectionEndpoint,),
            {
                "issuer": issuer,
                "tokens": tokens,
                "subjects": subjects,
                "claims": claims,
                "released": staticmethod(disclosures.released),
            },
        )
        revocation = type("Revocation", (RevocationEndpoint,), {"tokens": tokens, "audit": audit})
        server.register_endpoint(introspection(server))
        server.register_endpoint(revocation(server))
        self.server = server

    def token(self, request: ProtocolRequest) -> ProtocolResponse:
        return self.server.create_token_response(request)  # type: ignore[no-any-return]

    def introspect(self, request: ProtocolRequest) -> ProtocolResponse:
        return self.server.create_endpoint_response("introspection", request)  # type: ignore[no-any-return]

    def revoke(self, request: ProtocolRequest) -> ProtocolResponse:
        return self.server.create_endpoint_response("revocation", request)  # type: ignore[no-any-return]

    def userinfo(self, request: ProtocolRequest) -> ProtocolResponse:
        return userinfo(request, self._tokens, self._claims, self._disclosures.released)
