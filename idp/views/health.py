"""Liveness (``/healthz``) and readiness (``/readyz``: database and Redis reachable)."""

from __future__ import annotations

import logging

from flask import Blueprint, Response, jsonify

from idp.views.web import services

bp = Blueprint("health", __name__)
log = logging.getLogger(__name__)


@bp.get("/healthz")
def healthz() -> Response:
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz() -> Response:
    checks = {"database": "ok", "redis": "ok"}
    try:
        services().db.ping()
    except Exception as exc:  # any failure means not ready
        log.warning("readiness: database: %s", type(exc).__name__)
        checks["database"] = "unavailable"
    try:
        services().redis.ping()
    except Exception as exc:
        log.warning("readiness: redis: %s", type(exc).__name__)
        checks["redis"] = "unavailable"
    ready = all(v == "ok" for v in checks.values())
    response = jsonify(status="ok" if ready else "unavailable", checks=checks)
    response.status_code = 200 if ready else 503
    response.headers["Cache-Control"] = "no-store"
    return response
