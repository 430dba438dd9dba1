"""The introspection endpoint (RFC 7662)."""

from __future__ import annotations

from flask import Blueprint, Response

from idp.views.web import protocol_request, protocol_response, services

bp = Blueprint("introspection", __name__)


@bp.post("/introspect")
def introspect() -> Response:
    return protocol_response(services().endpoints.introspect(protocol_request()))
