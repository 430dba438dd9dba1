"""Discovery (OpenID Connect Discovery 1.0, RFC 8414) and the JWKS (RFC 7517)."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify

from idp.views.web import services

bp = Blueprint("discovery", __name__)


def _cached(response: Response, seconds: int) -> Response:
    response.headers["Cache-Control"] = f"public, max-age={seconds}"
    return response


@bp.get("/.well-known/openid-configuration")
@bp.get("/.well-known/oauth-authorization-server")
def configuration() -> Response:
    return _cached(jsonify(services().metadata), 3600)


@bp.get("/jwks.json")
def jwks() -> Response:
    # Short cache: a key published as "next" must reach portals before it signs.
    return _cached(jsonify(services().keys.jwks()), 300)
