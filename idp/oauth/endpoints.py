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
from idp.models import Client
from idp.oauth.claims import ClaimReleaser
from idp.oauth.client_auth import PrivateKeyJWT
from idp.oauth.codes import AuthorizationCodes
from idp.oauth.company_logins import CompanyLogins
from idp.oauth.details_tokens import AuthorizationDetailsExtension
from idp.oauth.dpop import DPoP
from idp.oauth.encryption import ResponseEncryption
from idp.oauth.errors import OAuth2Error
from idp.oauth.grants import (
    CLIENT_AUTH_METHODS,
    AuthorizationCodeGrant,
    OpenIDTokenExtension,
    RefreshTokenGrant,
    S256CodeChallenge,
)
from idp.oauth.id_token import IdTokenFactory
from idp.oauth.introspection import IntrospectionEndpoint
from idp.oauth.portal_tokens import ClientCredentialsGrant, PortalTokens
from idp.oauth.portals import Portals
from idp.oauth.requests import ProtocolRequest, ProtocolResponse
from idp.oauth.revocation import RevocationEndpoint
from idp.oauth.server import AuthorizationServer
from idp.oauth.subjects import Subjects
from idp.oauth.token_exchange import TokenExchange, TokenExchangeGrant
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
        portal_tokens: PortalTokens,
        dpop: DPoP | None = None,
        encryption: ResponseEncryption | None = None,
        exchange: TokenExchange | None = None,
    ) -> None:
        self._tokens = tokens
        # OIDC Core 5.3.2 / 10.2: signed or encrypted UserInfo for portals that ask for it.
        self._encryption = encryption
        # DPoP proofs (RFC 9449) at every endpoint here; None: DPoP is not offered.
        self._dpop = dpop
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
        # RFC 9396 6-7: the granted authorization details in the token response.
        details = AuthorizationDetailsExtension(tokens)
        server.register_grant(code_grant, [S256CodeChallenge(required=True), openid, details])
        server.register_grant(refresh_grant, [openid, details])
        # RFC 6749 4.4: a portal's own token for the matters and messages API.
        server.register_grant(
            type("PortalGrant", (ClientCredentialsGrant,), {"portal_tokens": portal_tokens})
        )
        if exchange is not None:
            # RFC 8693: token exchange between portals the operator paired.
            server.register_grant(
                type("ExchangeGrant", (TokenExchangeGrant,), {"exchange": exchange})
            )
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
        revocation = type(
            "Revocation",
            (RevocationEndpoint,),
            {"tokens": tokens, "audit": audit, "portal_tokens": portal_tokens},
        )
        server.register_endpoint(introspection(server))
        server.register_endpoint(revocation(server))
        self.server = server

    def token(self, request: ProtocolRequest) -> ProtocolResponse:
        """RFC 9449 5: a DPoP proof, when sent, is checked before anything else; the grant
        binds what it issues to the proof's key (``idp.oauth.grants.dpop_binding``)."""
        problem = self.check_dpop(request)
        if problem is not None:
            return problem
        return self._with_nonce(request, self.server.create_token_response(request))

    def introspect(self, request: ProtocolRequest) -> ProtocolResponse:
        problem = self.check_dpop(request)
        if problem is not None:
            return problem
        response = self.server.create_endpoint_response("introspection", request)
        return self._with_nonce(request, response)

    def revoke(self, request: ProtocolRequest) -> ProtocolResponse:
        problem = self.check_dpop(request)
        if problem is not None:
            return problem
        response = self.server.create_endpoint_response("revocation", request)
        return self._with_nonce(request, response)

    def check_dpop(self, request: ProtocolRequest) -> ProtocolResponse | None:
        """Check the request's DPoP proof, if it has one (RFC 9449 4.3, its ``jti`` claimed
        once) and keep it on the request (``request.dpop_proof``); or the error to answer
        (``invalid_dpop_proof``, ``use_dpop_nonce`` with ``DPoP-Nonce``: 400, RFC 9449 8)."""
        if self._dpop is None:
            return None
        try:
            request.dpop_proof = self._dpop.check(request)
        except OAuth2Error as error:
            return self.server.handle_error_response(request, error)  # type: ignore[no-any-return]
        return None

    @staticmethod
    def _with_nonce(request: ProtocolRequest, response: ProtocolResponse) -> ProtocolResponse:
        """RFC 9449 8.2: a fresh server nonce rides on the answer to a proof with an older one."""
        proof = request.dpop_proof
        if proof is not None and proof.next_nonce:
            response.headers.append(("DPoP-Nonce", proof.next_nonce))
        return response

    def authenticate_client(self, request: ProtocolRequest) -> Client:
        """RFC 9126 2: a pushed authorization request's client authenticates as at the token
        endpoint (the portal's registered method; a public client by its client_id)."""
        return self.server.authenticate_client(  # type: ignore[no-any-return]
            request, CLIENT_AUTH_METHODS, "pushed_authorization"
        )

    def error_response(self, request: ProtocolRequest, error: OAuth2Error) -> ProtocolResponse:
        """``error`` as the token endpoint answers it (RFC 6749 5.2, ``WWW-Authenticate``)."""
        return self.server.handle_error_response(request, error)  # type: ignore[no-any-return]

    def userinfo(self, request: ProtocolRequest) -> ProtocolResponse:
        return userinfo(
            request,
            self._tokens,
            self._claims,
            self._disclosures.released,
            as_jwt=self._encryption.userinfo if self._encryption is not None else None,
            dpop=self._dpop,
        )
