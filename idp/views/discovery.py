"""Discovery (OpenID Connect Discovery 1.0, RFC 8414) and the JWKS (RFC 7517).

Both documents are ready bytes with an entity tag, so a request costs no encoding, and a portal
that revalidates (``If-None-Match``, RFC 9110 13.1.2) gets ``304 Not Modified`` without a body.
:class:`PublishedDocuments` serves the plain ``GET`` of both in front of the application.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, Response, request

from idp.views.web import services

bp = Blueprint("discovery", __name__)


def _document(body: bytes, etag: str, max_age: int) -> Response:
    response = Response(body, mimetype="application/json")
    response.set_etag(etag)
    response.headers["Cache-Control"] = f"public, max-age={max_age}"
    response.make_conditional(request)  # 304 without a body when the tag matches
    return response


@bp.get("/.well-known/openid-configuration")
@bp.get("/.well-known/oauth-authorization-server")
def configuration() -> Response:
    body, etag = services().metadata_document
    return _document(body, etag, 3600)


@bp.get("/jwks.json")
def jwks() -> Response:
    # Short cache: a key published as "next" must reach portals before it signs.
    body, etag = services().keys.jwks_document()
    return _document(body, etag, 300)


class PublishedDocuments:
    """The same two documents served in front of Flask, for the plain revalidating ``GET`` that
    portals send all day (no query string, no credentials, no body): ready bytes and headers,
    no request object, no routing, no session. Anything else (a query, another method)
    goes to the application, which answers it as above. The headers are those every answer
    of the application carries (``idp.views.web``: CSP, framing, referrer, sniffing, HSTS
    behind TLS)."""

    PATHS = {
        "/.well-known/openid-configuration": 3600,
        "/.well-known/oauth-authorization-server": 3600,
        "/jwks.json": 300,
    }

    def __init__(self, app: Any, documents: Callable[[str], tuple[bytes, str]], hsts: bool):
        self._app = app
        self._documents = documents
        self._common = [
            (
                "Content-Security-Policy",
                "default-src 'none'; frame-ancestors 'none'; base-uri 'none'",
            ),
            ("X-Frame-Options", "DENY"),
            ("Referrer-Policy", "no-referrer"),
            ("X-Content-Type-Options", "nosniff"),
        ]
        if hsts:
            self._common.append(("Strict-Transport-Security", "max-age=31536000"))

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        path = environ.get("PATH_INFO", "")
        max_age = self.PATHS.get(path)
        if (
            max_age is None
            or environ.get("REQUEST_METHOD") not in ("GET", "HEAD")
            or environ.get("QUERY_STRING")
            # Anything more than the plain request goes through the input boundary
            # (idp.views.boundary): credentials, a body.
            or "HTTP_AUTHORIZATION" in environ
            or environ.get("CONTENT_LENGTH") not in (None, "", "0")
            or "HTTP_TRANSFER_ENCODING" in environ
        ):
            return self._app(environ, start_response)
        body, etag = self._documents(path)
        quoted = f'"{etag}"'
        headers = [
            ("Cache-Control", f"public, max-age={max_age}"),
            ("ETag", quoted),
            *self._common,
        ]
        match = environ.get("HTTP_IF_NONE_MATCH")
        if match and (match.strip() == "*" or quoted in (t.strip() for t in match.split(","))):
            start_response("304 Not Modified", headers)
            return [b""]
        headers.append(("Content-Type", "application/json"))
        headers.append(("Content-Length", str(len(body))))
        start_response("200 OK", headers)
        return [b"" if environ["REQUEST_METHOD"] == "HEAD" else body]
