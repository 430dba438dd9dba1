"""Token revocation (RFC 7009).

Revoking a refresh token revokes its whole grant, access tokens included (RFC 7009 section 2.1);
revoking an access token revokes that token alone. Unknown tokens get 200 too (section 2.2).
"""

from __future__ import annotations

from typing import Any

from authlib.oauth2.rfc7009 import RevocationEndpoint as _RevocationEndpoint

from idp.identity.audit import Audit
from idp.models import Client
from idp.oauth.errors import UnsupportedTokenTypeError
from idp.oauth.portal_tokens import PortalTokens, RevocablePortalToken
from idp.oauth.tokens import IssuedToken, TokenService


class RevocationEndpoint(_RevocationEndpoint):
    CLIENT_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "private_key_jwt", "none"]
    # Set on a subclass when the server is built (``idp.oauth.endpoints``).
    tokens: TokenService
    audit: Audit
    # A portal's own tokens (client credentials, ``idp.oauth.portal_tokens``).
    portal_tokens: PortalTokens | None = None

    def check_params(self, request: Any, client: Client) -> None:
        """RFC 7009 section 2.2.1: an unknown hint is ``unsupported_token_type``, with 400."""
        hint = request.form.get("token_type_hint")
        if hint and hint not in self.SUPPORTED_TOKEN_TYPES:
            raise UnsupportedTokenTypeError()
        super().check_params(request, client)

    def query_token(
        self, token_string: str, token_type_hint: str | None
    ) -> IssuedToken | RevocablePortalToken | None:
        found = self.tokens.find(token_string, token_type_hint)
        if found is None and self.portal_tokens is not None and token_type_hint != "refresh_token":
            return self.portal_tokens.revocable(token_string)
        return found

    def revoke_token(self, token: IssuedToken | RevocablePortalToken, request: Any) -> None:
        if isinstance(token, RevocablePortalToken):
            assert self.portal_tokens is not None
            self.portal_tokens.revoke(token)
            self.audit("token_revoked", client_id=token.client_id, details={"kind": token.kind})
            return
        if token.kind == "refresh_token":
            self.tokens.revoke_grant(token.row.grant_id, "revoked_by_client")
        else:
            self.tokens.revoke_access_token(token.row)
        self.audit(
            "token_revoked",
            client_id=token.grant.client_id,
            account_id=token.grant.account_id,
            details={"kind": token.kind, "grant_id": token.row.grant_id},
        )
