"""The pushed authorization request endpoint (RFC 9126): ``POST /par``."""

from __future__ import annotations

from flask import Blueprint, Response

from idp.views.web import protocol_request, protocol_response, services

bp = Blueprint("par", __name__)


@bp.post("/par")
def par() -> Response:
    return protocol_response(services().par(protocol_request()))
