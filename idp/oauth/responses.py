"""Authorization responses: success and error, in the portal's response mode, always with ``iss``.

RFC 6749 section 4.1.2, RFC 9207 (``iss`` in every authorization response, errors included),
OAuth 2.0 Multiple Response Type Encoding Practices (query, fragment) and Form Post Response Mode.
"""

from __future__ import annotations

from dataclasses import dataclass
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
