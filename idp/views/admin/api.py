"""The admin JSON API for portals (``/admin/api``), described by ``/admin/api/openapi.json``.

Authenticated with administrator API tokens (``Authorization: Bearer``, ``api_required`` from
``idp.views.admin.auth``; ``idp admins api-token`` issues them); an auditor's token reads but
every write answers 403. Errors are RFC 9457 problem details (``application/problem+json``);
invalid metadata answers 400 with ``errors``: one member per problem, each with ``field``,
``code``, ``message`` and ``pointer`` (a JSON Pointer into the request body). The rules are
``idp.oauth.clients``, the same as the console's and dynamic registration's.

Every answer is JSON, including unknown paths (404) and methods (405), so that a client never
has to parse a page. The document (``idp.views.admin.openapi``) is tested against the
behaviour with schemathesis (tests/admin_portals).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, Response, g, jsonify, request
from werkzeug.exceptions import RequestEntityTooLarge

from idp.errors import IdpError
from idp.identity.messages import MessageError, authority_draft
from idp.oauth.clients import (
    STATUSES,
    Actor,
    ClientNotFound,
    FieldError,
    InvalidMetadata,
    NoClientSecret,
    describe,
)
from idp.oauth.portal_pairs import InvalidPair
from idp.views.admin import openapi
from idp.views.admin.auth import api_required, no_store
from idp.views.web import problem, services

bp = Blueprint("admin_api", __name__, url_prefix="/admin/api")

ALL_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]
JSON_TYPES = ("application/json", "application/merge-patch+json")
MAX_REASON_LENGTH = 500
# RFC 9457 4.2.1: with type "about:blank", the title is the status phrase.
INVALID = "Bad Request"


class BadRequest(IdpError):
    """A request the API refuses before any rule runs: ``response`` is the RFC 9457 problem
    to answer (``_answer`` answers it; its status is the error's)."""

    code = "bad_request"

    def __init__(self, response: Response) -> None:
        super().__init__(status=response.status_code, detail=response.status)
        self.response = response


def _invalid(errors: list[FieldError], detail: str | None = None) -> Response:
    return problem(
        400,
        INVALID,
        detail or "; ".join(f"{e.label}: {e.message}" for e in errors),
        errors=[e.as_dict() for e in errors],
    )


def _not_found() -> Response:
    return problem(404, "Not Found", "No portal has this client_id.")


def _actor() -> Actor:
    return Actor(g.admin.account_id, "api", request.remote_addr)


def _body(*, optional: bool = False) -> dict[str, Any]:
    """The JSON object in the request body (``{}`` for none when ``optional``)."""
    if optional and not request.content_length and not request.data:
        return {}
    if request.mimetype not in JSON_TYPES:
        raise BadRequest(
            problem(415, "Unsupported Media Type", "Send a JSON object (application/json).")
        )
    try:
        body = request.get_json(silent=True)
    except RequestEntityTooLarge:
        raise BadRequest(
            problem(413, "Content Too Large", "The request body is too large.")
        ) from None
    if not isinstance(body, dict):
        raise BadRequest(
            _invalid(
                [FieldError("", "type", "the request body must be a JSON object")],
                "The request body must be a JSON object.",
            )
        )
    return body


def _reason(body: dict[str, Any]) -> str | None:
    """The optional ``reason`` recorded in the audit trail (the "why")."""
    reason = body.pop("reason", None)
    if reason is None:
        return None
    if not isinstance(reason, str) or len(reason) > MAX_REASON_LENGTH:
        raise BadRequest(
            _invalid(
                [
                    FieldError(
                        "reason",
                        "invalid",
                        f"must be text of at most {MAX_REASON_LENGTH} characters",
                    )
                ]
            )
        )
    return reason.strip() or None


def _answer(view: Callable[..., Response]) -> Callable[..., Response]:
    """Turn a BadRequest into its problem."""

    def run(*args: Any, **kwargs: Any) -> Response:
        try:
            return view(*args, **kwargs)
        except BadRequest as refused:
            return refused.response

    return run


def _not_allowed(allowed: list[str]) -> Response:
    response = problem(405, "Method Not Allowed", f"Use {', '.join(allowed)}.")
    response.headers["Allow"] = ", ".join(allowed)
    return response


# -- the document ----------------------------------------------------------------------------


@bp.route("/openapi.json", methods=ALL_METHODS)
def document() -> Response:
    """Public: the OpenAPI document of this API."""
    if request.method != "GET":
        return _not_allowed(["GET"])
    response = jsonify(openapi.document(sorted(services().sensitive_claims)))
    response.headers["Cache-Control"] = "public, max-age=300"
    return response


# -- clients ---------------------------------------------------------------------------------


@api_required()
@_answer
def _list_clients() -> Response:
    status = request.args.get("status")
    if status is not None and status not in STATUSES:
        return _invalid(
            [FieldError("status", "unknown_value", f"must be one of: {', '.join(STATUSES)}")]
        )
    clients = services().clients.clients(status)
    return jsonify({"clients": [describe(client) for client in clients]})


@api_required(write=True)
@_answer
def _create_client() -> Response:
    body = _body()
    reason = _reason(body)
    client_id = body.pop("client_id", None)
    if client_id is not None and not isinstance(client_id, str):
        return _invalid([FieldError("client_id", "type", "must be a string")])
    try:
        outcome = services().clients.create(
            body, actor=_actor(), client_id=client_id, reason=reason
        )
    except InvalidMetadata as exc:
        return _invalid(exc.errors)
    answer = describe(outcome.client)
    if outcome.client_secret:
        answer["client_secret"] = outcome.client_secret
    response = jsonify(answer)
    response.status_code = 201
    response.headers["Location"] = f"/admin/api/clients/{outcome.client.client_id}"
    return response


@bp.route("/clients", methods=ALL_METHODS)
def clients() -> Response:
    if request.method == "GET":
        return _list_clients()
    if request.method == "POST":
        return _create_client()
    return _not_allowed(["GET", "POST"])


@api_required()
def _show_client(client_id: str) -> Response:
    try:
        return jsonify(describe(services().clients.get(client_id)))
    except ClientNotFound:
        return _not_found()


@api_required(write=True)
@_answer
def _change_client(client_id: str) -> Response:
    registry = services().clients
    try:
        registry.get(client_id)
    except ClientNotFound:
        return _not_found()
    body = _body()
    reason = _reason(body)
    read_only = [name for name in body if name in openapi.READ_ONLY]
    if read_only:
        return _invalid([FieldError(name, "read_only", "cannot be changed") for name in read_only])
    try:
        outcome = registry.update(client_id, body, actor=_actor(), reason=reason)
    except InvalidMetadata as exc:
        return _invalid(exc.errors)
    answer = describe(outcome.client)
    if outcome.client_secret:
        answer["client_secret"] = outcome.client_secret
    return jsonify(answer)


@api_required(write=True)
def _delete_client(client_id: str) -> Response:
    reason = request.args.get("reason", "").strip()[:MAX_REASON_LENGTH] or None
    try:
        services().clients.delete(client_id, actor=_actor(), reason=reason)
    except ClientNotFound:
        return _not_found()
    return Response(status=204)


@bp.route("/clients/<client_id>", methods=ALL_METHODS)
def client(client_id: str) -> Response:
    if request.method == "GET":
        return _show_client(client_id)
    if request.method == "PATCH":
        return _change_client(client_id)
    if request.method == "DELETE":
        return _delete_client(client_id)
    return _not_allowed(["GET", "PATCH", "DELETE"])


@api_required(write=True)
@_answer
def _rotate_secret(client_id: str) -> Response:
    registry = services().clients
    try:
        registry.get(client_id)
    except ClientNotFound:
        return _not_found()
    body = _body(optional=True)
    reason = _reason(body)
    if body:
        return _invalid(
            [FieldError(name, "unknown_field", "is not a parameter here") for name in body]
        )
    try:
        outcome = registry.rotate_secret(client_id, actor=_actor(), reason=reason)
    except NoClientSecret:
        return problem(
            409,
            "Conflict",
            "This portal authenticates without a client secret (token_endpoint_auth_method "
            "none or private_key_jwt): there is no secret to rotate.",
        )
    expires = outcome.client.previous_secret_expires_at
    return jsonify(
        {
            "client_id": outcome.client.client_id,
            "client_secret": outcome.client_secret,
            "previous_secret_expires_at": expires.isoformat() if expires else None,
        }
    )


@bp.route("/clients/<client_id>/rotate-secret", methods=ALL_METHODS)
def rotate_secret(client_id: str) -> Response:
    if request.method == "POST":
        return _rotate_secret(client_id)
    return _not_allowed(["POST"])


# -- token exchange pairs (RFC 8693, idp.oauth.portal_pairs) ----------------------------------


def _pair_json(client_id: str, target_client_id: str, created_at: Any) -> dict[str, Any]:
    return {
        "client_id": client_id,
        "target_client_id": target_client_id,
        "created_at": created_at.isoformat(),
    }


@api_required()
@_answer
def _list_pairs(client_id: str) -> Response:
    try:
        services().clients.get(client_id)
    except ClientNotFound:
        return _not_found()
    rows = services().portal_pairs.pairs(client_id)
    return jsonify(
        {"pairs": [_pair_json(row.client_id, row.target_client_id, row.created_at) for row in rows]}
    )


@bp.route("/clients/<client_id>/pairs", methods=ALL_METHODS)
def pairs(client_id: str) -> Response:
    if request.method == "GET":
        return _list_pairs(client_id)
    return _not_allowed(["GET"])


@api_required(write=True)
@_answer
def _change_pair(client_id: str, target_client_id: str) -> Response:
    body = _body(optional=True) if request.method == "PUT" else {}
    reason = _reason(body) if body else request.args.get("reason")
    if body:
        return _invalid(
            [FieldError(name, "unknown_field", "is not a parameter here") for name in body]
        )
    pairs = services().portal_pairs
    try:
        if request.method == "PUT":
            row = pairs.pair(client_id, target_client_id, actor=_actor(), reason=reason)
            return jsonify(_pair_json(row.client_id, row.target_client_id, row.created_at))
        if not pairs.unpair(client_id, target_client_id, actor=_actor(), reason=reason):
            return problem(404, "Not Found", "These portals are not paired.")
    except ClientNotFound:
        return _not_found()
    except InvalidPair as refused:
        return problem(409, "Conflict", refused.message)
    return Response(status=204)


@bp.route("/clients/<client_id>/pairs/<target_client_id>", methods=ALL_METHODS)
def pair(client_id: str, target_client_id: str) -> Response:
    if request.method in ("PUT", "DELETE"):
        return _change_pair(client_id, target_client_id)
    return _not_allowed(["PUT", "DELETE"])


# -- initial access tokens -------------------------------------------------------------------


@api_required(write=True)
@_answer
def _issue_initial_access_token() -> Response:
    body = _body(optional=True)
    reason = _reason(body)
    unknown = [name for name in body if name not in ("uses", "days")]
    if unknown:
        return _invalid(
            [FieldError(name, "unknown_field", "is not a parameter here") for name in unknown]
        )
    try:
        row, token = services().clients.issue_initial_access_token(
            uses=body.get("uses", 1), days=body.get("days", 7), actor=_actor(), reason=reason
        )
    except InvalidMetadata as exc:
        return _invalid(exc.errors)
    response = jsonify(
        {
            "id": row.id,
            "token": token,
            "uses": row.uses_allowed,
            "expires_at": row.expires_at.isoformat(),
            "registration_endpoint": services().metadata["registration_endpoint"],
        }
    )
    response.status_code = 201
    return response


@bp.route("/initial-access-tokens", methods=ALL_METHODS)
def initial_access_tokens() -> Response:
    if request.method == "POST":
        return _issue_initial_access_token()
    return _not_allowed(["POST"])


# -- messages to a person (issue 12, docs/user-space.md) -----------------------------------


MESSAGE_MEMBERS = ("account", "title", "body", "essential", "link")


@api_required(write=True)
@_answer
def _send_message() -> Response:
    body = _body()
    reason = _reason(body)
    unknown = [name for name in body if name not in MESSAGE_MEMBERS]
    if unknown:
        return _invalid(
            [FieldError(name, "unknown_field", "is not a parameter here") for name in unknown]
        )
    reference = body.get("account")
    account = (
        services().people.find(reference)
        if isinstance(reference, str) and 0 < len(reference) <= 64
        else None
    )
    if account is None or reference not in (account.id, account.subject):
        return problem(404, "Not Found", "No account has this id or sub.", code="unknown_account")
    essential = body.get("essential", False)
    if not isinstance(essential, bool):
        return _invalid([FieldError("essential", "type", "must be true or false")])
    try:
        draft = authority_draft(account.id, body.get("title"), body.get("body"), body.get("link"))
    except MessageError as exc:
        return _invalid([FieldError(exc.field or "", exc.code, exc.message)])
    message_id = services().messages.send_from_authority(
        draft,
        essential=essential,
        actor=g.admin.account_id,
        via="api",
        ip_address=request.remote_addr,
        reason=reason,
    )
    response = jsonify({"id": message_id, "status": "delivered" if message_id else "declined"})
    response.status_code = 201
    return response


@bp.route("/messages", methods=ALL_METHODS)
def messages() -> Response:
    if request.method == "POST":
        return _send_message()
    return _not_allowed(["POST"])


# -- everything else -------------------------------------------------------------------------


@bp.route("/", methods=ALL_METHODS)
@bp.route("/<path:rest>", methods=ALL_METHODS)
def unknown(rest: str = "") -> Response:
    """Unknown paths answer a problem too (never the HTML error page)."""
    return no_store(problem(404, "Not Found", "No such resource in the admin API."))
