"""Authlib's authorization server, framework-neutral: requests come in as ProtocolRequest and
responses go out as ProtocolResponse, so nothing here touches Flask."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from authlib.oauth2 import AuthorizationServer as _AuthorizationServer

from idp.models import Client
from idp.oauth.errors import InvalidRequestError, printable
from idp.oauth.grants import save_token
from idp.oauth.requests import ProtocolRequest, ProtocolResponse
from idp.oauth.tokens import TokenService


class AuthorizationServer(_AuthorizationServer):
    def __init__(
        self, find_client: Callable[[str | None], Client | None], tokens: TokenService
    ) -> None:
        super().__init__(scopes_supported=None)
        self._find_client = find_client
        self._tokens = tokens

    def query_client(self, client_id: str) -> Client | None:
        return self._find_client(client_id)

    def save_token(self, token: dict[str, Any], request: Any) -> None:
        save_token(self._tokens, token, request)

    def create_token_response(self, request: ProtocolRequest | None = None) -> Any:
        """RFC 6749 section 3.2: parameters MUST NOT be included more than once."""
        assert request is not None
        repeated = sorted(
            name for name, values in request.payload.datalist.items() if len(values) > 1
        )
        if repeated:
            names = ", ".join(printable(name) for name in repeated)
            error = InvalidRequestError(f"Repeated parameter: {names}.")
            return self.handle_error_response(request, error)
        if not request.payload.grant_type:
            return self.handle_error_response(request, InvalidRequestError("Missing 'grant_type'."))
        return super().create_token_response(request)

    def create_oauth2_request(self, request: ProtocolRequest) -> ProtocolRequest:
        return request

    def create_json_request(self, request: ProtocolRequest) -> ProtocolRequest:
        return request

    def handle_response(self, status: int, body: Any, headers: Any) -> ProtocolResponse:
        return ProtocolResponse(status, body, list(headers or []))

    def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
        """Authlib's signals are not used; auditing is explicit."""
