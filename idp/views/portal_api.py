"""The portal API (``/api/matters``, ``/api/messages``): portals report matters and send
messages with their own client-credentials token (docs/user-space.md, "The portal API").

Thin: the rules are ``idp.oauth.portal_api``. Answers are JSON; refusals are RFC 9457 problem
details (``application/problem+json``, as the admin API's) with a stable ``code`` and, per
field problem, ``errors`` (``field``, ``code``, ``message``, ``pointer``). A refused token
carries ``WWW-Authenticate: Bearer`` (RFC 6750 3), a rate limit ``Retry-After``
(RFC 9110 10.2.3). Nothing is cached (``Cache-Control: no-store``).
"""

from __future__ import annotations

from collections.abc import Callable
from http import HTTPStatus
from typing import Any

from flask import Blueprint, Response, jsonify, request
from werkzeug.exceptions import RequestEntityTooLarge

from idp.identity.matters import MatterView
from idp.models import Client
from idp.oauth.portal_api import MATTERS_SCOPE, MESSAGES_SCOPE, PortalApiError
from idp.views.web import problem, services

bp = Blueprint("portal_api", __name__, url_prefix="/api")

REALM = "portal-api"
ALL_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]


def _refusal(error: PortalApiError) -> Response:
    members: dict[str, Any] = {"code": error.code}
    if error.errors:
        members["errors"] = [
            {
                "field": pointer.rsplit("/", 1)[-1],
                "code": code,
                "message": message,
                "pointer": pointer,
            }
            for pointer, code, message in error.errors
        ]
    response = problem(error.status, HTTPStatus(error.status).phrase, error.message, **members)
    if error.status in (401, 403) and error.scope is not None:
        challenge = f'Bearer realm="{REALM}", scope="{error.scope}"'
        if error.bearer:
            challenge += f', error="{error.bearer}"'
        response.headers["WWW-Authenticate"] = challenge
    if error.retry_after:
        response.headers["Retry-After"] = str(error.retry_after)
    return response


def _json(payload: Any, status: int = 200) -> Response:
    response = jsonify(payload)
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    return response


def _body() -> dict[str, Any]:
    if request.mimetype != "application/json":
        raise PortalApiError(
            "unsupported_media_type", 415, "Send a JSON object (application/json)."
        )
    try:
        body = request.get_json(silent=True)
    except RequestEntityTooLarge:
        raise PortalApiError(
            "too_large",
            413,
            "The request body is too large (see IDP_PORTAL_MESSAGE_BATCH_MAX for batches). "
            "Nothing was stored.",
        ) from None
    if not isinstance(body, dict):
        raise PortalApiError("invalid", 400, "The request body must be a JSON object.")
    return body


def _portal_call(scope: str) -> Callable[[Callable[..., Response]], Callable[..., Response]]:
    """Authenticate the portal's token for ``scope``, then run the view; refusals answer as
    problems."""

    def decorator(view: Callable[..., Response]) -> Callable[..., Response]:
        def run(*args: Any, **kwargs: Any) -> Response:
            try:
                client = services().portal_api.authenticate(
                    request.headers.get("Authorization"), scope
                )
                return view(client, *args, **kwargs)
            except PortalApiError as refused:
                return _refusal(refused)

        run.__name__ = view.__name__
        return run

    return decorator


def _not_allowed(allowed: list[str]) -> Response:
    response = problem(405, "Method Not Allowed", f"Use {', '.join(allowed)}.", code="method")
    response.headers["Allow"] = ", ".join(allowed)
    return response


def _matter(view: MatterView) -> dict[str, Any]:
    return view.as_dict()


# -- matters ---------------------------------------------------------------------------------


@_portal_call(MATTERS_SCOPE)
def _report_matter(client: Client) -> Response:
    view, created = services().portal_api.report_matter(client, _body())
    response = _json(_matter(view), 201 if created else 200)
    response.headers["Location"] = f"/api/matters/{view.portal_reference}"
    return response


@bp.route("/matters", methods=ALL_METHODS)
def matters() -> Response:
    if request.method == "POST":
        return _report_matter()
    return _not_allowed(["POST"])


@_portal_call(MATTERS_SCOPE)
def _show_matter(client: Client, reference: str) -> Response:
    return _json(_matter(services().portal_api.matter(client, reference)))


@bp.route("/matters/<path:reference>", methods=ALL_METHODS)
def matter(reference: str) -> Response:
    if reference.endswith("/steps"):
        if request.method == "POST":
            return _add_step(reference.removesuffix("/steps"))
        return _not_allowed(["POST"])
    if request.method == "GET":
        return _show_matter(reference)
    return _not_allowed(["GET"])


@_portal_call(MATTERS_SCOPE)
def _add_step(client: Client, reference: str) -> Response:
    view, added = services().portal_api.add_step(client, reference, _body())
    return _json(_matter(view), 201 if added else 200)


# -- messages --------------------------------------------------------------------------------


@_portal_call(MESSAGES_SCOPE)
def _send_messages(client: Client) -> Response:
    ids, batch = services().portal_api.send_messages(client, _body())
    results = [
        {"id": message_id, "status": "delivered" if message_id else "declined"}
        for message_id in ids
    ]
    return _json({"messages": results} if batch else results[0], 201)


@bp.route("/messages", methods=ALL_METHODS)
def messages() -> Response:
    if request.method == "POST":
        return _send_messages()
    return _not_allowed(["POST"])
