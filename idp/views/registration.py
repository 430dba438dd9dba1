"""Dynamic client registration endpoints: RFC 7591 (``POST /register-client``) and RFC 7592
(``GET``/``PUT``/``DELETE /register-client/<client_id>``). The rules are in
``idp.oauth.registration`` (``services().dynamic_registration``); this module turns HTTP into
calls and answers JSON, never a page.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify, request
from werkzeug.exceptions import RequestEntityTooLarge

from idp.oauth.registration import RegistrationError
from idp.views.web import services

bp = Blueprint("registration", __name__)

ALL_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]


def _json(body: Any, status: int, headers: list[tuple[str, str]] | None = None) -> Response:
    response = jsonify(body) if body is not None else Response(status=status)
    response.status_code = status
    for name, value in headers or []:
        response.headers[name] = value
    # RFC 7591 3.2.1 / RFC 7592 3: the answers carry credentials.
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    return response


def _error(error: RegistrationError) -> Response:
    return _json(error.body(), error.status, error.headers)


def _bearer() -> str | None:
    scheme, _sep, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


def _body() -> Any:
    """The JSON request body (RFC 7591 3.1: ``application/json``), or a RegistrationError."""
    try:
        body = request.get_json(silent=True)
    except RequestEntityTooLarge:
        raise RegistrationError(
            "invalid_client_metadata", "The request body is too large."
        ) from None
    if not request.is_json or body is None:
        raise RegistrationError(
            "invalid_client_metadata", "The request body must be a JSON object (application/json)."
        )
    return body


def _not_allowed(allowed: list[str]) -> Response:
    return _json(
        {"error": "invalid_request", "error_description": "Method not allowed."},
        405,
        [("Allow", ", ".join(allowed))],
    )


@bp.route("/register-client", methods=ALL_METHODS)
def register() -> Response:
    """RFC 7591 3.1: 201 with the client information response."""
    if request.method != "POST":
        return _not_allowed(["POST"])
    endpoint = services().dynamic_registration
    token = _bearer()
    try:
        # Authenticate before reading the body: an unauthenticated caller learns nothing.
        endpoint.initial_access(token)
        info = endpoint.register(_body(), token, ip_address=request.remote_addr)
    except RegistrationError as error:
        return _error(error)
    return _json(info, 201, [("Location", info["registration_client_uri"])])


@bp.route("/register-client/<client_id>", methods=ALL_METHODS)
def configuration(client_id: str) -> Response:
    """RFC 7592 2.1 (read), 2.2 (update, a full replacement) and 2.3 (delete)."""
    endpoint = services().dynamic_registration
    token = _bearer()
    try:
        if request.method == "GET":
            return _json(endpoint.read(client_id, token), 200)
        if request.method == "PUT":
            endpoint.access(client_id, token)  # before reading the body, as above
            updated = endpoint.update(client_id, token, _body(), ip_address=request.remote_addr)
            return _json(updated, 200)
        if request.method == "DELETE":
            endpoint.delete(client_id, token, ip_address=request.remote_addr)
            return _json(None, 204)
    except RegistrationError as error:
        return _error(error)
    return _not_allowed(["GET", "PUT", "DELETE"])
