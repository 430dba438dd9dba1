"""Protocol errors: Authlib's classes carrying the RFC error codes, plus the few it lacks.

The ``description`` of an error is public (it goes to the portal); internal detail is logged,
never returned. Unknown failures become ``server_error`` / ``temporarily_unavailable``.
"""

from __future__ import annotations

from authlib.oauth2.rfc6749.errors import (
    AccessDeniedError,
    InvalidClientError,
    InvalidGrantError,
    InvalidRequestError,
    InvalidScopeError,
    OAuth2Error,
    UnauthorizedClientError,
    UnsupportedResponseTypeError,
)
from authlib.oidc.core.errors import (
    ConsentRequiredError,
    InteractionRequiredError,
    InvalidRequestObjectError,
    InvalidRequestURIError,
    LoginRequiredError,
    RequestNotSupportedError,
    RequestURINotSupportedError,
)

from idp.errors import IdpError

__all__ = [
    "AccessDeniedError",
    "ConsentRequiredError",
    "InteractionRequiredError",
    "InvalidClientError",
    "InvalidGrantError",
    "InvalidRequestError",
    "InvalidRequestObjectError",
    "InvalidRequestURIError",
    "InvalidScopeError",
    "LoginRequiredError",
    "OAuth2Error",
    "RequestNotSupportedError",
    "RequestURINotSupportedError",
    "UnauthorizedClientError",
    "UnmetAuthenticationRequirementsError",
    "UnsupportedResponseTypeError",
    "UnsupportedTokenTypeError",
    "UntrustedRedirectError",
    "printable",
]


def printable(value: str) -> str:
    """``value`` as it may appear in an ``error_description``: RFC 6749 4.1.2.1 allows only
    %x20-21 / %x23-5B / %x5D-7E there (Authlib raises on anything else), so every other
    character of a request's text quoted back becomes ``?``."""
    return "".join(c if " " <= c <= "~" and c not in '"\\' else "?" for c in value)


class UnmetAuthenticationRequirementsError(OAuth2Error):
    """OpenID Connect Core 1.0 incorporating errata set 2, section 3.1.2.6."""

    error = "unmet_authentication_requirements"


class UnsupportedTokenTypeError(OAuth2Error):
    """RFC 7009 section 2.2.1, presented as RFC 6749 section 5.2 says: HTTP 400. (Authlib's
    class answers 401 without a WWW-Authenticate challenge.)"""

    error = "unsupported_token_type"


class UntrustedRedirectError(IdpError):
    """The client or redirect URI cannot be trusted: show an error page, never redirect
    (RFC 6749 section 4.1.2.1, RFC 9700 section 4.11). ``error`` is the OAuth code
    (``invalid_client``, ``invalid_request``); ``message_key`` (``client``, ``redirect_uri``)
    names what is wrong, for the page's message."""

    def __init__(self, error: str, message_key: str) -> None:
        super().__init__(error, field=message_key)
        self.error = error
        self.message_key = message_key
