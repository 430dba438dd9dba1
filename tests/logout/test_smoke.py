"""RP-Initiated Logout with a valid hint ends the session and reaches the portal's back channel."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

from jwcrypto import jwk, jwt

from tests.support import RelyingParty


class Receiver:
    def __init__(self) -> None:
        self.tokens: list[str] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length", 0))
                form = parse_qs(self.rfile.read(length).decode())
                outer.tokens.extend(form.get("logout_token", []))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/backchannel"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def test_logout_with_hint_notifies_the_portal(cli, client, user):
    receiver = Receiver()
    data = cli.ok(
        "clients",
        "create",
        "--name",
        "A",
        "--redirect-uri",
        "https://a.example/cb",
        "--post-logout-redirect-uri",
        "https://a.example/",
        "--backchannel-logout-uri",
        receiver.url,
        "--json",
    )
    rp = RelyingParty(client, data["client_id"], data["client_secret"], "https://a.example/cb")
    attempt = rp.login(user["username"], user["password"])
    tokens = rp.exchange(attempt).get_json()
    claims = rp.validate_id_token(tokens["id_token"])

    response = client.get(
        "/logout",
        query_string={
            "id_token_hint": tokens["id_token"],
            "post_logout_redirect_uri": "https://a.example/",
            "state": "s1",
        },
    )

    assert response.status_code == 303
    assert response.headers["Location"] == "https://a.example/?state=s1"
    deadline = time.time() + 10
    while not receiver.tokens and time.time() < deadline:
        time.sleep(0.1)
    keys = jwk.JWKSet.from_json(client.get("/jwks.json").get_data(as_text=True))
    token = jwt.JWT(jwt=receiver.tokens[0], key=keys, algs=["RS256"])
    logout_claims = json.loads(token.claims)
    assert logout_claims["sid"] == claims["sid"] and logout_claims["sub"] == claims["sub"]
    assert "nonce" not in logout_claims
    assert rp.refresh(tokens["refresh_token"]).get_json()["error"] == "invalid_grant"
    silent = rp.authorize(prompt="none")
    assert silent.result["error"] == "login_required"
