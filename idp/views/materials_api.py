"""The portals' materials API (``/api/materials``): thin, the rules are in
``idp.oauth.materials_api`` (bearer token, released items, one fetch each)."""

from __future__ import annotations

from flask import Blueprint, Response

from idp.views.web import protocol_request, protocol_response, services

bp = Blueprint("materials_api", __name__, url_prefix="/api/materials")


@bp.get("")
def listing() -> Response:
    base_url = services().issuer + "/api/materials"
    return protocol_response(services().materials_api.listing(protocol_request(), base_url))


@bp.get("/<release_id>")
def fetch(release_id: str) -> Response:
    return protocol_response(services().materials_api.fetch(protocol_request(), release_id))
