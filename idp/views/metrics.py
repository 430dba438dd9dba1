"""``/metrics``: the Prometheus exposition (docs/operations.md#metrics), and the request counts.

Protected by a bearer token (``IDP_METRICS_TOKEN``, RFC 6750 section 2.1); without one it is
404, except in development, where it is open. Every request is counted by its Flask endpoint
(never its raw path: ids, tickets and hints stay out of the labels) and final status, and timed.
"""

from __future__ import annotations

import hmac
import time

from flask import Blueprint, Flask, Response, abort, g, request

from idp.observability import metrics
from idp.services import Services
from idp.views.web import services

bp = Blueprint("metrics", __name__)


def init_app(app: Flask, app_services: Services) -> None:
    def _started() -> None:
        g.metrics_started = time.perf_counter()

    def _answered(response: Response) -> Response:
        started = g.get("metrics_started")
        if started is not None:
            endpoint = request.endpoint or "unmatched"
            metrics.observe_request(
                endpoint, request.method, response.status_code, time.perf_counter() - started
            )
        return response

    # First of all: the time includes every other check, and a check that answers early
    # (idp.views.boundary) is counted too.
    app.before_request_funcs.setdefault(None, []).insert(0, _started)
    app.after_request(_answered)


@bp.get("/metrics")
def exposition() -> Response:
    app_services = services()
    config = app_services.config
    token = config.METRICS_TOKEN
    if not token and not config.development:
        abort(404)
    if token and not _bearer_matches(token):
        given = bool(request.headers.get("Authorization"))
        challenge = 'Bearer realm="metrics"' + (', error="invalid_token"' if given else "")
        return Response(
            "a bearer token is required\n",
            401,
            {"WWW-Authenticate": challenge, "Cache-Control": "no-store"},
            mimetype="text/plain",
        )
    body = metrics.exposition([app_services.metrics_gauges])
    return Response(body, 200, {"Content-Type": metrics.CONTENT_TYPE, "Cache-Control": "no-store"})


def _bearer_matches(token: str) -> bool:
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(
        value.strip().encode(), token.encode()
    )
