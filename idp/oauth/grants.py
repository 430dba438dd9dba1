"""Token endpoint grants: Authlib's authorization code and refresh token grants, filled in.

What Authlib leaves to us, and RFC 9700 asks for:
- codes are single use and consumed atomically; a second redemption revokes every token issued
  from the code (RFC 6749 section 4.1.2, RFC 9700 section 4.2.4);
- PKCE accepts S256 only, and a verifier without a challenge is refused (RFC 9700 section 2.1.1);
- refresh tokens rotate, and presenting a rotated one revokes the whole family (RFC 9700 4.14.2);
- the ID token is added by :class:`OpenIDTokenExtension` (OIDC Core 3.1.3.3, 12.2).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from authlib.oauth2.rfc6749 import grants
from authlib.oauth2.rfc7636 import CodeChallenge

from idp.identity.audit import Audit
from idp.models import Account, Grant
from idp.oauth.dpop import InvalidDPoPProofError, Proof
from idp.oauth.errors import InvalidGrantError
from idp.oauth.fapi import is_fapi2
from idp.oauth.id_token import IdTokenFactory
from idp.oauth.tokens import IssuedToken, TokenService
from idp.observability import metrics

# Takes a reused code: ``(payload, None)`` the first time, ``(None, grant_id)`` afterwards.
ConsumeCode = Callable[[str], tuple[dict[str, Any] | None, str | None]]

log = logging.getLogger(__name__)

CLIENT_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "private_key_jwt", "none"]


@dataclass
class AuthorizationCode:
    """The payload parked in Redis for one code (Authlib's ``AuthorizationCodeMixin``)."""

    grant_id: str
    client_id: str
    redirect_uri: str
    scope: str
    nonce: str | None
    code_challenge: str | None
    code_challenge_method: str | None
    auth_time: int
    acr: str | None
    amr: list[str]
    # RFC 9449 10: the DPoP key the code is bound to (``dpop_jkt`` at /authorize or /par).
    dpop_jkt: str | None = None

    def get_redirect_uri(self) -> str:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope

    def get_nonce(self) -> str | None:
        return self.nonce

    def get_auth_time(self) -> int:
        return self.auth_time

    def get_acr(self) -> str | None:
        return self.acr

    def get_amr(self) -> list[str]:
        return self.amr


class S256CodeChallenge(CodeChallenge):
    """RFC 7636 with ``plain`` refused: the default method becomes S256 (RFC 9700 2.1.1)."""

    DEFAULT_CODE_CHALLENGE_METHOD = "S256"
    SUPPORTED_CODE_CHALLENGE_METHOD = ["S256"]


class AuthorizationCodeGrant(grants.AuthorizationCodeGrant):
    """Authlib instantiates grants per request: the services are class attributes, set on a
    subclass when the server is built (``idp.oauth.endpoints``)."""

    TOKEN_ENDPOINT_AUTH_METHODS = CLIENT_AUTH_METHODS
    consume_code: ConsumeCode
    tokens: TokenService
    audit: Audit

    def query_authorization_code(self, code: str, client: Any) -> AuthorizationCode | None:
        payload, used_by_grant = self.consume_code(code)
        if payload is None:
            if used_by_grant:
                # A second redemption: revoke everything the first one issued.
                self.tokens.revoke_grant(used_by_grant, "code_reuse")
                self.audit(
                    "code_reuse", client_id=client.client_id, details={"grant_id": used_by_grant}
                )
            return None
        record = AuthorizationCode(**payload)
        if record.client_id != client.client_id:
            return None
        return record

    def delete_authorization_code(self, authorization_code: AuthorizationCode) -> None:
        """Nothing to do: the code was consumed atomically when it was read."""

    def authenticate_user(self, authorization_code: AuthorizationCode) -> Account | None:
        """The one redemption that took the code is answered even when a racing second
        redemption revoked the grant first (``code_reuse``): RFC 6749 4.1.2 denies the second
        request and revokes what was issued, so what this one issues is born revoked (every
        token is checked against its grant), and the portal learns of the replay by the
        tokens being inactive. A grant revoked for any other reason issues nothing."""
        grant = self.tokens.find_grant(authorization_code.grant_id)
        if grant is None or not grant.account.active:
            return None
        if grant.revoked_at is not None and grant.revoked_reason != "code_reuse":
            return None
        self.request.grant = grant  # type: ignore[attr-defined]
        return grant.account

    def save_authorization_code(self, code: str, request: Any) -> None:  # pragma: no cover
        raise RuntimeError("codes are issued by idp.oauth.flow, not by Authlib")


class RefreshTokenGrant(grants.RefreshTokenGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = CLIENT_AUTH_METHODS
    INCLUDE_NEW_REFRESH_TOKEN = True
    tokens: TokenService
    audit: Audit
    # A company login's delegation still holds (and is narrowed to what holds now).
    recheck_delegation: Callable[[Grant], bool]

    def authenticate_refresh_token(self, refresh_token: str) -> IssuedToken | None:
        token = self.tokens.find(refresh_token, "refresh_token")
        if token is None or token.kind != "refresh_token":
            return None
        client_id = self.request.payload.client_id or getattr(
            self.request.client, "client_id", None
        )
        if token.row.rotated_at is not None:
            # RFC 9700 4.14.2: a rotated refresh token came back; assume it leaked.
            self.tokens.revoke_grant(token.row.grant_id, "refresh_token_reuse")
            self.audit(
                "refresh_token_reuse", client_id=client_id, details={"grant_id": token.row.grant_id}
            )
            return None
        if not token.active:
            return None
        self.request.grant = token.grant  # type: ignore[attr-defined]
        return token

    def authenticate_user(self, refresh_token: IssuedToken) -> Account | None:
        account = refresh_token.grant.account
        if not account.active:
            return None
        grant = refresh_token.grant
        if grant.entity_id is not None and not self.recheck_delegation(grant):
            # RFC 6749 5.2: the grant no longer holds (legal-person issue, item 6).
            raise InvalidGrantError("The authority to act for the company has ended.")
        return account

    def revoke_old_credential(self, refresh_token: IssuedToken) -> None:
        """Rotation happens in ``save_token`` together with storing the new token."""


class OpenIDTokenExtension:
    """Adds the ID token to code and refresh responses when ``openid`` was granted."""

    def __init__(
        self, id_tokens: IdTokenFactory, released: Callable[[Grant, str, list[str]], None]
    ) -> None:
        self._id_tokens = id_tokens
        self._released = released

    def __call__(self, grant: grants.BaseGrant) -> None:
        grant.register_hook("after_create_token_response", self.process_token)

    def process_token(self, grant: grants.BaseGrant, response: tuple[int, Any, Any]) -> None:
        _, token, _ = response
        if "openid" not in (token.get("scope") or "").split():
            return
        stored: Grant = grant.request.grant  # type: ignore[attr-defined]
        code = grant.request.authorization_code
        token["id_token"], released = self._id_tokens.create(
            stored,
            access_token=token["access_token"],
            nonce=code.get_nonce() if code is not None else None,
            scope=token.get("scope"),
        )
        self._released(stored, "id_token", released)


def dpop_binding(token: dict[str, Any], request: Any) -> str | None:
    """The DPoP key the new tokens are bound to (RFC 9449 5), after the rules that a code
    bound with ``dpop_jkt`` is redeemed with that key (section 10), that a public portal's
    bound refresh token is used with its key (section 5), and that a portal registered with
    ``dpop_bound_access_tokens`` sends a proof (section 5.2). A bound token is of type DPoP."""
    proof: Proof | None = request.dpop_proof
    code: AuthorizationCode | None = request.authorization_code
    if code is not None and code.dpop_jkt:
        if proof is None:
            raise InvalidGrantError("The code is bound to a DPoP key (dpop_jkt): send a proof.")
        if proof.jkt != code.dpop_jkt:
            raise InvalidGrantError("The DPoP proof's key does not match the code's dpop_jkt.")
    refresh: IssuedToken | None = request.refresh_token
    if refresh is not None and refresh.jkt and request.client.public:
        if proof is None or proof.jkt != refresh.jkt:
            raise InvalidGrantError(
                "The refresh token is bound to a DPoP key: send a proof signed with it."
            )
    if proof is None:
        # FAPI 2.0 Security Profile 5.3.2.2: sender-constrained tokens, and DPoP is the one
        # way this provider offers.
        if request.client.dpop_bound_access_tokens or is_fapi2(request.client):
            raise InvalidDPoPProofError(
                "This portal must send a DPoP proof with every token request "
                "(dpop_bound_access_tokens)."
            )
        return None
    token["token_type"] = "DPoP"
    return proof.jkt


def save_token(tokens: TokenService, token: dict[str, Any], request: Any) -> None:
    """Authlib's ``save_token``: store under the grant; rotation is atomic with it."""
    grant: Grant = request.grant
    replaces = request.refresh_token.row if request.refresh_token is not None else None
    jkt = dpop_binding(token, request)
    if not tokens.save(token, grant, replaces=replaces, jkt=jkt):
        tokens.revoke_grant(grant.id, "refresh_token_reuse")
        raise InvalidGrantError("The refresh token was already used.")
    metrics.count_token(str(request.payload.grant_type), grant.client_id)
