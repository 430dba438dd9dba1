"""The token endpoint (RFC 6749 section 3.2, OIDC Core 3.1.3)."""

from __future__ import annotations

from flask import Blueprint, Response

from idp.views.web import protocol_request, protocol_response, services

bp = Blueprint("token", __name__)


@bp.post("/token")
def token() -> Response:
    return protocol_response(services().endpoints.token(protocol_request()))
