"""Helpers for the portal administration tests (docs/portals.md).

- ``admin_api_token(cli, role)``: a real administrator (``idp users create``, ``idp admins
  grant``) and a real admin API token (``idp admins api-token``);
- ``AdminApi``: the admin JSON API through the Flask test client, with that token;
- ``JsonServer``: a portal's document (a JWK set, a sector identifier list) served by a real
  ``http.server`` on a loopback port, or an endpoint that answers too late;
- ``signs_in``: the whole login of a person at a portal, from ``/authorize`` to a validated ID
  token (tests/support.py ``RelyingParty``).
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from jwcrypto import jwk

from tests.support import CliRunner, RelyingParty

REDIRECT_URI = "https://portal.example.gov.cn/callback"
PASSWORD = "admin api password for tests"


def admin_api_token(cli: CliRunner, role: str = "operator") -> str:
    username = f"api-{role}-{secrets.token_hex(3)}"
    account = cli.ok("users", "create", "--username", username, "--password", PASSWORD)
    cli.ok("admins", "grant", account["id"], "--role", role, "--reason", "portal tests")
    return str(cli.ok("admins", "api-token", account["id"], "--name", "tests")["token"])


class AdminApi:
    """``/admin/api`` with a bearer token."""

    def __init__(self, client: Any, token: str | None) -> None:
        self.client = client
        self.token = token

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    def get(self, path: str, **kwargs: Any) -> Any:
        return self.client.get(f"/admin/api{path}", headers=self.headers(), **kwargs)

    def post(self, path: str, body: Any = None, **kwargs: Any) -> Any:
        return self.client.post(f"/admin/api{path}", json=body, headers=self.headers(), **kwargs)

    def patch(self, path: str, body: Any) -> Any:
        return self.client.patch(f"/admin/api{path}", json=body, headers=self.headers())

    def delete(self, path: str, **kwargs: Any) -> Any:
        return self.client.delete(f"/admin/api{path}", headers=self.headers(), **kwargs)

    def create(self, **overrides: Any) -> dict[str, Any]:
        response = self.post("/clients", portal(**overrides))
        assert response.status_code == 201, response.get_json()
        return dict(response.get_json())


def portal(**overrides: Any) -> dict[str, Any]:
    """Valid metadata of a confidential portal; ``None`` leaves a field out."""
    body: dict[str, Any] = {
        "name": f"杭州市政务服务网 {secrets.token_hex(3)}",
        "name_en": f"Hangzhou government services {secrets.token_hex(3)}",
        "region": "330100",
        "redirect_uris": [REDIRECT_URI],
        "post_logout_redirect_uris": ["https://portal.example.gov.cn/"],
        "scopes": ["profile"],
        "matters": ["tax.declaration", "social_insurance.enrolment"],
        "contacts": ["ops@portal.example.gov.cn", "0571-12345678"],
    }
    body.update(overrides)
    return {k: v for k, v in body.items() if v is not None}


def field_errors(response: Any) -> dict[str, list[str]]:
    """The problem's errors as {field: [codes]} (asserting the RFC 9457 shape)."""
    assert response.mimetype == "application/problem+json", response.mimetype
    problem = response.get_json()
    assert problem["status"] == response.status_code
    assert problem["title"] and problem["detail"]
    found: dict[str, list[str]] = {}
    for error in problem.get("errors", []):
        assert error["message"] and error["pointer"].startswith("/")
        found.setdefault(error["field"], []).append(error["code"])
    return found


def signs_in(rp: RelyingParty, user: dict[str, str], **overrides: Any) -> dict[str, Any]:
    """authorize -> login -> code -> token; returns the token answer (ID token validated)."""
    attempt = rp.login(user["username"], user["password"], **overrides)
    assert "code" in attempt.result, (attempt.response.status_code, attempt.result)
    answer = rp.exchange(attempt)
    assert answer.status_code == 200, answer.get_json()
    tokens = dict(answer.get_json())
    claims = rp.validate_id_token(tokens["id_token"], attempt.params["nonce"])
    assert claims["sub"]
    return tokens


def public_key_set(kid: str = "portal-key") -> dict[str, Any]:
    key = jwk.JWK.generate(kty="EC", crv="P-256", kid=kid)
    return {"keys": [json.loads(key.export_public())]}


def private_key_set() -> dict[str, Any]:
    key = jwk.JWK.generate(kty="EC", crv="P-256", kid="leaked")
    return {"keys": [json.loads(key.export_private())]}


class JsonServer:
    """Serves ``body`` (JSON) with ``status`` on a loopback port; ``delay`` seconds late."""

    def __init__(self, body: Any, status: int = 200, delay: float = 0.0) -> None:
        self.body = body
        self.status = status
        self.delay = delay
        self.fetches = 0
        self.hosts: list[str | None] = []  # the Host header of each request
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                outer.fetches += 1
                outer.hosts.append(self.headers.get("Host"))
                if outer.delay:
                    time.sleep(outer.delay)
                payload = (
                    outer.body if isinstance(outer.body, bytes) else json.dumps(outer.body).encode()
                )
                try:
                    self.send_response(outer.status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except OSError:
                    pass  # the provider gave up waiting

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/document.json"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> JsonServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@contextmanager
def serving(body: Any, status: int = 200, delay: float = 0.0) -> Iterator[JsonServer]:
    server = JsonServer(body, status, delay).start()
    try:
        yield server
    finally:
        server.stop()
