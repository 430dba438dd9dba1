"""The favicon and the authority's emblem (``IDP_LOGO_PATH``), shown in every page's header.

Both are public and change only with a deployment, so browsers may keep them for a day. The
emblem is read once, at start-up (``idp.views.web.Logo``); the CSP of every answer
(``idp.views.web``) keeps any script inside an SVG from running, even when opened by itself.
"""

from __future__ import annotations

from flask import Blueprint, Response, abort

from idp.views.web import logo

bp = Blueprint("branding", __name__)

CACHE_FOR = "public, max-age=86400"
# The header's default emblem (a shield with a tick) on the page's blue: the favicon.
FAVICON_SVG = (
    b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24">'
    b'<rect width="24" height="24" rx="4" fill="#0a4a8c"/>'
    b'<path fill="#ffffff" d="M12 1.5 3.5 4.8v6.1c0 5.3 3.6 10.2 8.5 11.6 4.9-1.4 8.5-6.3 '
    b'8.5-11.6V4.8L12 1.5z"/>'
    b'<path fill="#0a4a8c" d="m10.6 15.6-3.4-3.4 1.4-1.4 2 2 4.8-4.8 1.4 1.4-6.2 6.2z"/>'
    b"</svg>"
)


def _image(data: bytes, media_type: str) -> Response:
    response = Response(data, mimetype=media_type)
    response.headers["Cache-Control"] = CACHE_FOR
    return response


@bp.get("/favicon.ico")
@bp.get("/favicon.svg")
def favicon() -> Response:
    return _image(FAVICON_SVG, "image/svg+xml")


@bp.get("/branding/logo")
def emblem() -> Response:
    configured = logo()
    if configured is None:
        abort(404)
    return _image(configured.data, configured.media_type)
