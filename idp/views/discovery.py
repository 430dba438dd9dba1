"""Discovery (OpenID Connect Discovery 1.0, RFC 8414) and the JWKS (RFC 7517).

Both documents are ready bytes with an entity tag, so a request costs no encoding, and a portal
that revalidates (``If-None-Match``, RFC 9110 13.1.2) gets ``304 Not Modified`` without a body.
"""

from __future__ import annotations

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
