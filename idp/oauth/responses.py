"""Authorization responses: success and error, in the portal's response mode, always with ``iss``.

RFC 6749 section 4.1.2, RFC 9207 (``iss`` in every authorization response, errors included),
OAuth 2.0 Multiple Response Type Encoding Practices (query, fragment) and Form Post Response Mode.
With a JWT response mode (OpenID JARM), the parameters are the claims of one signed JWT sent as
``response`` (:func:`secured`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

from idp.oauth.errors import OAuth2Error


@dataclass
class AuthorizationResponse:
    """Where to send the browser: a 303 to ``location`` or, for form_post, a page with a form."""

    redirect_uri: str
    response_mode: str
    params: dict[str, str]

    @property
    def location(self) -> str:
        parts = urlsplit(self.redirect_uri)
        encoded = urlencode(self.params)
        if self.response_mode == "fragment":
            return urlunsplit(parts._replace(fragment=encoded))
        query = f"{parts.query}&{encoded}" if parts.query else encoded
        return urlunsplit(parts._replace(query=query))


def success(
    redirect_uri: str, response_mode: str, code: str, state: str | None, issuer: str
) -> AuthorizationResponse:
    params = {"code": code}
    if state is not None:
        params["state"] = state
    params["iss"] = issuer
    return AuthorizationResponse(redirect_uri, response_mode, params)


# OpenID JARM 2.3: the JWT modes and how each is delivered (``jwt`` is ``query.jwt`` for code).
JWT_RESPONSE_MODES = {
    "jwt": "query",
    "query.jwt": "query",
    "fragment.jwt": "fragment",
    "form_post.jwt": "form_post",
}


def secured(
    response: AuthorizationResponse,
    client_id: str,
    issuer: str,
    sign: Callable[[dict[str, Any]], str],
    lifetime: int,
) -> AuthorizationResponse:
    """OpenID JARM 2.1-2.3: with a JWT response mode, the parameters (``code``, ``state`` or
    ``error``, ``error_description``) become claims of a JWT signed by our keys, with ``iss``,
    ``aud`` (the client) and ``exp``, sent as the one parameter ``response`` in the mode's
    delivery. Other modes are returned unchanged."""
    delivery = JWT_RESPONSE_MODES.get(response.response_mode)
    if delivery is None:
        return response
    claims: dict[str, Any] = {
        **response.params,
        "iss": issuer,
        "aud": client_id,
        "exp": int(time.time()) + lifetime,
    }
    return AuthorizationResponse(response.redirect_uri, delivery, {"response": sign(claims)})


def error(
    redirect_uri: str,
    response_mode: str,
    err: OAuth2Error,
    state: str | None,
    issuer: str,
) -> AuthorizationResponse:
    params = {"error": err.error}
    if err.description:
        params["error_description"] = err.description
    if state is not None:
        params["state"] = state
    params["iss"] = issuer
    return AuthorizationResponse(redirect_uri, response_mode, params)
