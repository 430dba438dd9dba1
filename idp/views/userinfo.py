"""The UserInfo endpoint (OIDC Core 5.3): GET, and POST with the token in header or body."""

from __future__ import annotations

from flask import Blueprint, Response

from idp.views.web import protocol_request, protocol_response, services

bp = Blueprint("userinfo", __name__)


@bp.route("/userinfo", methods=["GET", "POST"])
def userinfo() -> Response:
    return protocol_response(services().endpoints.userinfo(protocol_request()))
