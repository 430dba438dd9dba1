"""The revocation endpoint (RFC 7009)."""

from __future__ import annotations

from flask import Blueprint, Response

from idp.views.web import protocol_request, protocol_response, services

bp = Blueprint("revocation", __name__)


@bp.post("/revoke")
def revoke() -> Response:
    return protocol_response(services().endpoints.revoke(protocol_request()))
