"""Pushed authorization requests (RFC 9126): ``POST /par``.

The portal authenticates exactly as at the token endpoint (section 2: client_secret_basic,
client_secret_post, private_key_jwt, or a public client's ``client_id``) and sends the
authorization request's parameters in the body. They are validated at once by the check table
of the authorization endpoint (``idp.oauth.authorize``; a signed request object, RFC 9101, is
opened here), and errors are answered as JSON (section 2.3). A valid request is kept in Redis
(one SET), with its parameters as validated, under a random ``request_uri``
(``urn:ietf:params:oauth:request_uri:<random>``) that lives ``IDP_PAR_LIFETIME`` seconds, is
bound to the client and is taken once (section 4; one atomic GET+DEL at ``/authorize``).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any

import redis

from idp.models import Client
from idp.oauth.dpop import bind_pushed_request
from idp.oauth.errors import InvalidRequestError, OAuth2Error, UntrustedRedirectError
from idp.oauth.requests import ProtocolRequest, ProtocolResponse
from idp.store.kv import ShortLivedStore

REQUEST_URI_PREFIX = "urn:ietf:params:oauth:request_uri:"
# Client authentication parameters (RFC 6749 2.3.1, RFC 7523 2.2): not part of the request.
AUTHENTICATION_PARAMETERS = frozenset(
    {"client_secret", "client_assertion", "client_assertion_type"}
)
NO_STORE = [("Cache-Control", "no-store")]


class PushedRequests:
    """The pushed requests in Redis (``idp:par:{<sha256 of the request_uri>}``)."""

    def __init__(self, redis_client: redis.Redis, lifetime: int) -> None:
        self._store = ShortLivedStore(redis_client, "par", hash_ids=True)
        self.lifetime = lifetime

    def push(self, client_id: str, params: dict[str, list[str]], *, signed: bool = False) -> str:
        """Keep ``params`` (as validated); ``signed``: they came in a verified request object
        (RFC 9101), which a portal with ``require_signed_request_object`` needs."""
        request_uri = REQUEST_URI_PREFIX + secrets.token_urlsafe(32)
        payload = {"client_id": client_id, "params": params, "signed": signed}
        self._store.put(request_uri, payload, self.lifetime)
        return request_uri

    def take(self, request_uri: str) -> dict[str, Any] | None:
        """The pushed request, once (RFC 9126 4: single use), or None."""
        payload, _ = self._store.consume(request_uri)
        return payload


class PushedAuthorizationEndpoint:
    """RFC 9126 2.1-2.3, framework-neutral (``ProtocolRequest`` in, ``ProtocolResponse`` out)."""

    def __init__(
        self,
        *,
        authenticate: Callable[[ProtocolRequest], Client],
        error_response: Callable[[ProtocolRequest, OAuth2Error], ProtocolResponse],
        validate: Callable[[dict[str, list[str]]], dict[str, list[str]]],
        requests: PushedRequests,
        check_dpop: Callable[[ProtocolRequest], ProtocolResponse | None] | None = None,
    ) -> None:
        # RFC 9449 10.1: a DPoP proof here binds the code (``idp.oauth.dpop``).
        self._check_dpop = check_dpop
        self._authenticate = authenticate
        self._error_response = error_response
        self._validate = validate
        self._requests = requests

    def __call__(self, request: ProtocolRequest) -> ProtocolResponse:
        try:
            client = self._authenticate(request)
        except OAuth2Error as error:
            return self._error_response(request, error)
        params = {
            name: list(values)
            for name, values in request.payload.datalist.items()
            if name not in AUTHENTICATION_PARAMETERS
        }
        # The client_id, when sent, must be the authenticated client's (RFC 9126 2.1).
        if params.get("client_id", [client.client_id]) != [client.client_id]:
            return self._refuse(
                request, InvalidRequestError("'client_id' is not the authenticated client.")
            )
        params["client_id"] = [client.client_id]
        if self._check_dpop is not None:
            problem = self._check_dpop(request)
            if problem is not None:
                return problem
        try:
            validated = self._validate(params)
            # After the validation: a request object's parameters are the ones kept.
            bind_pushed_request(validated, request.dpop_proof)
        except UntrustedRedirectError as error:
            description = {
                "client": "The client is not active.",
                "redirect_uri": "Invalid or unregistered 'redirect_uri'.",
                "request_object": "Invalid request object.",
                "request_uri": "Invalid 'request_uri'.",
            }.get(error.message_key)
            return ProtocolResponse(
                400, {"error": error.error, "error_description": description}, NO_STORE
            )
        except OAuth2Error as error:
            return self._refuse(request, error)
        # A validated request with ``request`` was a verified request object (RFC 9101).
        request_uri = self._requests.push(client.client_id, validated, signed="request" in params)
        return ProtocolResponse(
            201, {"request_uri": request_uri, "expires_in": self._requests.lifetime}, NO_STORE
        )

    def _refuse(self, request: ProtocolRequest, error: OAuth2Error) -> ProtocolResponse:
        body: dict[str, Any] = {"error": error.error}
        if error.description:
            body["error_description"] = error.description
        return ProtocolResponse(400, body, NO_STORE)
