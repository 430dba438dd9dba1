"""Authorization details at the token endpoint (RFC 9396 6 and 7).

An Authlib grant extension for the authorization code and refresh token grants: the token
response carries the details granted (``authorization_details``, RFC 9396 7); a token request
may carry ``authorization_details`` to ask for a subset of them for this access token (6.1 for a
code, 6.2 for a refresh), which is checked before anything is issued
(``invalid_authorization_details`` otherwise) and stored on the token row, so that
introspection tells the subset. A request without the parameter costs nothing more.
"""

from __future__ import annotations

from typing import Any

from authlib.oauth2.rfc6749 import grants

from idp.models import Grant
from idp.oauth import authorization_details
from idp.oauth.tokens import TokenService


class AuthorizationDetailsExtension:
    def __init__(self, tokens: TokenService) -> None:
        self._tokens = tokens

    def __call__(self, grant: grants.BaseGrant) -> None:
        grant.register_hook("before_create_token_response", self.check_request)
        grant.register_hook("after_create_token_response", self.process_token)

    def _stored_grant(self, grant: grants.BaseGrant) -> Grant | None:
        stored: Grant | None = getattr(grant.request, "grant", None)
        if stored is None:
            code = getattr(grant.request, "authorization_code", None)
            if code is not None:
                stored = self._tokens.find_grant(code.grant_id)
        return stored

    def check_request(self, grant: grants.BaseGrant) -> None:
        raw = grant.request.payload.data.get("authorization_details")
        if not raw:
            return
        stored = self._stored_grant(grant)
        if stored is None:
            return  # the grant's own checks refuse it (invalid_grant)
        asked = authorization_details.parse(raw, grant.request.client, stored.scope.split())
        grant.request.asked_details = authorization_details.subset(  # type: ignore[attr-defined]
            asked or [], stored.authorization_details
        )

    def process_token(self, grant: grants.BaseGrant, response: tuple[int, Any, Any]) -> None:
        _, token, _ = response
        stored: Grant | None = getattr(grant.request, "grant", None)
        if stored is None or not isinstance(token, dict) or "access_token" not in token:
            return
        asked = getattr(grant.request, "asked_details", None)
        if asked is not None:
            self._tokens.set_authorization_details(token["access_token"], asked)
            token["authorization_details"] = asked
        elif stored.authorization_details:
            token["authorization_details"] = stored.authorization_details
