"""``private_key_jwt`` with a key set published at the portal's ``jwks_uri`` (OIDC Core 9,
OpenID Connect Dynamic Client Registration 2: ``jwks_uri``)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.token.conftest import REDIRECT_URI
from tests.token.helpers import KeyRelyingParty, obtain, register, rsa_key


class KeySetServer:
    """A portal's key-set endpoint on a loopback port; counts the fetches."""

    def __init__(self, key_set: dict) -> None:
        self.key_set = key_set
        self.fetches = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                outer.fetches += 1
                body = json.dumps(outer.key_set).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/jwks.json"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> KeySetServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def key_set_server() -> Iterator[KeySetServer]:
    key = rsa_key("jwks-uri")
    with KeySetServer({"keys": [json.loads(key.export_public())]}) as server:
        yield server


def test_assertion_verified_with_keys_fetched_from_jwks_uri(cli, client, user, key_set_server):
    """The token endpoint fetches the portal's key set and accepts an assertion it signed."""
    data = register(
        cli, "--token-endpoint-auth-method", "private_key_jwt", "--jwks-uri", key_set_server.url
    )
    rp = KeyRelyingParty(client, data["client_id"], None, REDIRECT_URI, key=rsa_key("jwks-uri"))

    _attempt, tokens = obtain(rp, user)

    assert "access_token" in tokens and "id_token" in tokens
    assert key_set_server.fetches >= 1


def test_assertion_signed_by_a_key_not_in_jwks_uri_is_refused(cli, client, user, key_set_server):
    """RFC 7523 3: the signature must verify with the portal's registered keys."""
    data = register(
        cli, "--token-endpoint-auth-method", "private_key_jwt", "--jwks-uri", key_set_server.url
    )
    rp = KeyRelyingParty(client, data["client_id"], None, REDIRECT_URI, key=rsa_key("intruder"))
    attempt = rp.login(user["username"], user["password"])

    response = rp.exchange(attempt)

    assert response.status_code in (400, 401)
    assert response.get_json()["error"] == "invalid_client"


def test_unreachable_jwks_uri_fails_closed_with_invalid_client(cli, client, user):
    """A key set that cannot be fetched authenticates nobody: invalid_client, never a 500."""
    data = register(
        cli,
        "--token-endpoint-auth-method",
        "private_key_jwt",
        "--jwks-uri",
        "http://127.0.0.1:9/jwks.json",  # discard port: nothing answers
    )
    rp = KeyRelyingParty(client, data["client_id"], None, REDIRECT_URI, key=rsa_key("jwks-uri"))
    attempt = rp.login(user["username"], user["password"])

    response = rp.exchange(attempt)

    assert response.status_code in (400, 401)
    assert response.get_json()["error"] == "invalid_client"
