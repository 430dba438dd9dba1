"""Helpers for the logout tests: portals with a real back-channel endpoint, and logout tokens
checked with an independent JOSE library.

``Receiver`` is a portal's ``backchannel_logout_uri`` on a loopback port (Back-Channel Logout 1.0
section 2.5): it records every ``logout_token`` POSTed to it and answers 200, another status, or
hangs until released. ``validate_logout_token`` checks a token against ``/jwks.json`` with
jwcrypto (section 2.4 and 2.6).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

from jwcrypto import jwk, jwt
from sqlalchemy import text

from tests.support import ISSUER, CliRunner, RelyingParty

BACKCHANNEL_EVENT = "http://schemas.openid.net/event/backchannel-logout"
HANG_LIMIT = 20  # seconds a hanging receiver holds a request at most


class Receiver:
    """A back-channel logout endpoint. ``status`` is what it answers; ``hang`` makes it hold
    every request until ``stop`` (or HANG_LIMIT)."""

    def __init__(self, port: int = 0, *, status: int = 200, hang: bool = False) -> None:
        self.tokens: list[str] = []
        self.content_types: list[str] = []
        self.status = status
        self.hang = hang
        self.released = threading.Event()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length", 0))
                form = parse_qs(self.rfile.read(length).decode())
                outer.content_types.append(self.headers.get("Content-Type", ""))
                outer.tokens.extend(form.get("logout_token", []))
                if outer.hang:
                    outer.released.wait(HANG_LIMIT)
                self.send_response(outer.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/backchannel"
        self._thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    def wait_for_tokens(self, count: int = 1, timeout: float = 10) -> list[str]:
        """The tokens received, once there are ``count`` of them (fails after ``timeout``)."""
        wait_until(lambda: len(self.tokens) >= count, timeout, f"{count} logout token(s)")
        return list(self.tokens)

    def stop(self) -> None:
        self.released.set()
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(5)


class Receivers:
    """Starts receivers for a test and stops them all afterwards."""

    def __init__(self) -> None:
        self.started: list[Receiver] = []

    def __call__(self, port: int = 0, **options: Any) -> Receiver:
        receiver = Receiver(port, **options)
        self.started.append(receiver)
        return receiver

    def closed_port(self) -> int:
        """A loopback port where nothing listens (a portal that is down)."""
        receiver = Receiver()
        receiver.stop()
        return receiver.port

    def stop_all(self) -> None:
        for receiver in self.started:
            receiver.stop()


def wait_until(condition: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def register_portal(
    cli: CliRunner,
    browser: Any,
    name: str,
    host: str,
    *,
    backchannel_uri: str | None = None,
    trusted: bool = False,
) -> RelyingParty:
    """A confidential portal at https://<host>/ with post-logout URI https://<host>/logged-out."""
    args = [
        "clients",
        "create",
        "--name",
        name,
        "--redirect-uri",
        f"https://{host}/callback",
        "--post-logout-redirect-uri",
        f"https://{host}/logged-out",
        "--json",
    ]
    if backchannel_uri:
        args += ["--backchannel-logout-uri", backchannel_uri]
    if trusted:
        args.append("--trusted")
    data = cli.ok(*args)
    return RelyingParty(
        browser, data["client_id"], data["client_secret"], f"https://{host}/callback"
    )


def on_browser(rp: RelyingParty, browser: Any) -> RelyingParty:
    """The same portal, driving another browser (possibly of another app)."""
    return RelyingParty(browser, rp.client_id, rp.client_secret, rp.redirect_uri)


def log_in(rp: RelyingParty, username: str, password: str, **overrides: Any) -> dict[str, Any]:
    """Log in at ``rp`` and exchange the code: the token response plus the validated claims."""
    attempt = rp.login(username, password, **overrides)
    assert "code" in attempt.result, (attempt.result, attempt.response.status_code)
    tokens = rp.exchange(attempt).get_json()
    tokens["claims"] = rp.validate_id_token(tokens["id_token"], attempt.params["nonce"])
    return tokens


def logged_in(rp: RelyingParty) -> bool:
    """Does the browser still hold a live SSO session? (OIDC Core 3.1.2.1, prompt=none)."""
    result = rp.authorize(prompt="none").result
    assert "code" in result or result.get("error") == "login_required", result
    return "code" in result


def validate_logout_token(browser: Any, token: str, client_id: str) -> dict[str, Any]:
    """Back-Channel Logout 1.0 sections 2.4 and 2.6, checked with jwcrypto against the JWKS."""
    keys = jwk.JWKSet.from_json(browser.get("/jwks.json").get_data(as_text=True))
    parsed = jwt.JWT(jwt=token, key=keys, algs=["RS256", "ES256"], expected_type="JWS")
    header = json.loads(parsed.header)
    claims = json.loads(parsed.claims)
    assert header["typ"] == "logout+jwt"
    assert header["alg"] in ("RS256", "ES256")
    assert claims["iss"] == ISSUER
    assert claims["aud"] == client_id or claims["aud"] == [client_id]
    assert isinstance(claims["iat"], int) and claims["iat"] <= time.time() + 5
    assert claims["exp"] > claims["iat"]
    assert isinstance(claims["jti"], str) and len(claims["jti"]) >= 16
    assert claims["events"] == {BACKCHANNEL_EVENT: {}}
    assert "nonce" not in claims
    assert "sid" in claims or "sub" in claims
    return claims


def rows(provider: Any, sql: str, **params: Any) -> list[dict[str, Any]]:
    with provider.db.engine.connect() as connection:
        return [dict(row) for row in connection.execute(text(sql), params).mappings()]


def deliveries(provider: Any, client_id: str | None = None) -> list[dict[str, Any]]:
    """The back-channel outbox rows (the durable storage the requirement is about)."""
    if client_id is None:
        return rows(provider, "SELECT * FROM logout_deliveries ORDER BY created_at")
    return rows(
        provider,
        "SELECT * FROM logout_deliveries WHERE client_id = :c ORDER BY created_at",
        c=client_id,
    )


def audit_events(provider: Any, action: str) -> list[dict[str, Any]]:
    found = rows(provider, "SELECT * FROM audit_events WHERE action = :a", a=action)
    for row in found:
        if isinstance(row["details"], str):
            row["details"] = json.loads(row["details"])
    return found
