"""Read-only pages on the database replica, and read-your-writes across a redirect.

``reads_from_replica`` runs a page inside ``Database.reading()`` (idp.models.base): with
``IDP_DATABASE_REPLICA_URL`` set its queries go to the replica, unless the request, or the same
browser within ``IDP_DATABASE_REPLICA_STICKY`` seconds, wrote to the primary. A request that
wrote gets the short-lived cookie ``idp_recent_write`` (no value of its own, HttpOnly), and a
page it is redirected to (the consents list after a withdrawal) reads the primary. Without a
replica nothing changes: no cookie, every query on the primary.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from flask import Flask, request
from werkzeug.wrappers import Response

from idp.services import Services
from idp.views.web import services

RECENT_WRITE_COOKIE = "idp_recent_write"

P = ParamSpec("P")
R = TypeVar("R")


def reads_from_replica(view: Callable[P, R]) -> Callable[P, R]:
    """Decorate a read-only GET page (innermost, below the route and access decorators)."""

    @functools.wraps(view)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        database = services().db
        if not database.has_replica:
            return view(*args, **kwargs)
        if request.method != "GET" or request.cookies.get(RECENT_WRITE_COOKIE):
            database.prefer_primary()
        with database.reading():
            return view(*args, **kwargs)

    return wrapper


def init_app(app: Flask, app_services: Services) -> None:
    if not app_services.db.has_replica or not app_services.config.DATABASE_REPLICA_STICKY:
        return

    @app.after_request
    def _remember_write(response: Response) -> Response:
        if app_services.db.wrote():
            response.set_cookie(
                RECENT_WRITE_COOKIE,
                "1",
                max_age=app_services.config.DATABASE_REPLICA_STICKY,
                httponly=True,
                samesite="Lax",
                secure=app_services.config.secure_cookies,
            )
        return response
